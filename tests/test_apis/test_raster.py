"""read_raster: 8/16-bit, 1-6 bands, PNG / JPEG / TIFF to 8-bit BGR."""
import cv2
import mmcv
import numpy as np
import pytest

from rs2sam2_mmseg.apis import read_raster, to_display_rgb

STRETCH = ('uint16 values stretched to 8 bits, each band from percentile 2 '
           'to 98 onto 0-255')


@pytest.fixture
def bands() -> np.ndarray:
    """Six 16-bit bands (40, 50, 6), band b spanning b * 1000 + 0..999."""
    ramp = np.linspace(0, 999, 40 * 50).reshape(40, 50)
    return np.stack([ramp + 1000 * b for b in range(1, 7)],
                    -1).astype(np.uint16)


def stretched(band: np.ndarray) -> np.ndarray:
    """The 2-98 percentile stretch of one band, written out."""
    lo, hi = np.percentile(band.astype(np.float64), (2, 98))
    return np.round(np.clip(
        (band - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def test_8bit_files_as_mmcv_reads_them(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), np.uint8)
    for name in ('scene.png', 'scene.jpg'):
        path = str(tmp_path / name)
        mmcv.imwrite(image, path)
        raster = read_raster(path)
        np.testing.assert_array_equal(raster.image, mmcv.imread(path))
        assert raster.notes == []
    path = str(tmp_path / 'grey.png')
    mmcv.imwrite(image[..., 0], path)
    raster = read_raster(path)
    np.testing.assert_array_equal(raster.image, mmcv.imread(path))
    assert raster.notes == ['one band, shown as grey']
    path = str(tmp_path / 'alpha.png')
    cv2.imwrite(path, np.dstack([image, image[..., :1]]))
    raster = read_raster(path)
    np.testing.assert_array_equal(raster.image, image)
    assert raster.notes == ['alpha channel ignored']


def test_16bit_png_is_stretched_per_band(tmp_path, bands):
    path = str(tmp_path / 'scene16.png')
    cv2.imwrite(path, bands[..., 2::-1])  # BGR on disk: bands 1-3 as RGB
    raster = read_raster(path)
    for i in range(3):  # BGR out
        np.testing.assert_array_equal(raster.image[..., 2 - i],
                                      stretched(bands[..., i]))
    assert raster.notes == [f'{STRETCH} (1019-1979, 2019-2979, 3019-3979)']


def test_multiband_tiff(tmp_path, bands):
    tifffile = pytest.importorskip('tifffile')
    contig, planar = str(tmp_path / 'contig.tif'), str(tmp_path / 'p.tiff')
    tifffile.imwrite(
        contig, bands, photometric='minisblack', planarconfig='contig')
    tifffile.imwrite(
        planar,
        np.moveaxis(bands, -1, 0),
        photometric='minisblack',
        planarconfig='separate',
        compression='zlib')
    for path in (contig, planar):
        raster = read_raster(path)
        assert raster.image.shape == (40, 50, 3)
        np.testing.assert_array_equal(raster.image[..., 2],
                                      stretched(bands[..., 0]))
        assert raster.notes[0] == ('6 bands: bands 1, 2, 3 shown as red, '
                                   'green, blue (bands 4-6 not used)')
        assert raster.notes[1].startswith(STRETCH)
    raster = read_raster(contig, bands=(6, 5, 4))
    np.testing.assert_array_equal(raster.image[..., 2], stretched(bands[...,
                                                                        5]))
    assert raster.notes[0] == 'bands 6, 5, 4 shown as red, green, blue'
    with pytest.raises(
            ValueError,
            match=r'bands \[7, 1, 2\] do not fit an '
            r'image of 6 band\(s\)'):
        read_raster(contig, bands=(7, 1, 2))


def test_other_depths_and_band_counts():
    ramp = np.arange(20, dtype=np.float32).reshape(4, 5)
    rgb, notes = to_display_rgb(np.dstack([ramp, -ramp]))
    assert rgb.shape == (4, 5, 3) and (rgb[..., 0] == rgb[..., 2]).all()
    assert notes[0] == 'two bands: band 1 shown as grey (band 2 not used)'
    ramp[0, 0] = np.nan  # no data: the low end
    rgb, notes = to_display_rgb(ramp)
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    assert notes[1].startswith('float32 values stretched')
    rgb, _ = to_display_rgb(np.full((3, 3), 7, np.uint16))  # flat band
    assert (rgb == 0).all()


def test_huge_images_are_resized(tmp_path):
    path = str(tmp_path / 'wide.png')
    mmcv.imwrite(np.zeros((50, 3000, 3), np.uint8), path)
    raster = read_raster(path, max_side=1000)
    assert raster.image.shape == (17, 1000, 3)
    assert raster.notes == [
        'resized from 3000 x 50 to 1000 x 17 pixels (longest side 1000); '
        'the mask has this size'
    ]
    assert read_raster(path, max_side=None).image.shape == (50, 3000, 3)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        read_raster(str(tmp_path / 'missing.png'))
    text = tmp_path / 'text.png'
    text.write_text('not an image')
    with pytest.raises(
            ValueError, match="'text.png' cannot be read "
            r'\(not an image'):
        read_raster(str(text))
    for name in ('cut.png', 'cut.jpg'):
        path = tmp_path / name
        mmcv.imwrite(
            np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8),
            str(path))
        path.write_bytes(path.read_bytes()[:-200])
        with pytest.raises(
                ValueError,
                match=f"'{name}' cannot be read "
                r'\(truncated or corrupt'):
            read_raster(str(path))
    tifffile = pytest.importorskip('tifffile')
    path = tmp_path / 'cut.tif'
    tifffile.imwrite(str(path), np.zeros((64, 64, 3), np.uint16))
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(
            ValueError, match="'cut.tif' cannot be read as a "
            'TIFF'):
        read_raster(str(path))
    # 40 pages of 50 x 6, not 6 bands
    tifffile.imwrite(str(path), np.zeros((40, 50, 6), np.uint16))
    with pytest.raises(ValueError, match=r'has axes [IQ]YX \(40, 50, 6\)'):
        read_raster(str(path))

"""tools/web_demo.py: the page in headless Chromium, /segment by client.

One server for the module: tools/web_demo.py on 127.0.0.1 with the tiny
config and a checkpoint of a seeded random model, which the tests also
run through the inference API to compare masks.
"""
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from typing import List, NamedTuple, Optional

import mmcv
import numpy as np
import pytest
import torch
from torch import nn

from rs2sam2_mmseg.apis import (inference_referring_model,
                                init_referring_model, referring_tta_model)
from rs2sam2_mmseg.utils import free_port
from .utils import (REPO, TINY_CONFIG, assert_cli_error, assert_documented,
                    tool_env, tool_module)

WEB_EXTRA = "the web extra is not installed: pip install -e '.[web]'"
gradio_client = pytest.importorskip('gradio_client', reason=WEB_EXTRA)
CHROMIUM = shutil.which('chromium')
CHROMEDRIVER = shutil.which('chromedriver')
SENTENCES = ['the red car on the left', 'the largest building']
#: Seconds the server may take to start (imports, model, examples).
START_TIMEOUT = 240


class App(NamedTuple):
    """The running server, its model and files."""
    url: str
    upload_dir: str
    model: nn.Module
    image: str
    work_dir: str


def wait_for_server(process: subprocess.Popen, log: str) -> str:
    """Wait for the 'Running on local URL' line; return the upload dir."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with open(log) as f:
            text = f.read()
        if 'Running on local URL' in text:
            return text.split('uploads and results go to ')[1].split()[0]
        if process.poll() is not None:
            pytest.fail(f'web_demo.py exited {process.returncode}:\n'
                        f'{text[-3000:]}')
        time.sleep(0.5)
    process.kill()
    pytest.fail(f'web_demo.py did not start in {START_TIMEOUT} s')


@pytest.fixture(scope='module')
def app(tmp_path_factory):
    """tools/web_demo.py serving a checkpoint of a seeded random model."""
    work_dir = str(tmp_path_factory.mktemp('web_demo'))
    torch.manual_seed(0)
    model = init_referring_model(TINY_CONFIG)
    checkpoint = osp.join(work_dir, 'tiny.pth')
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(iter=7)), checkpoint)
    mine = osp.join(work_dir, 'mine')
    os.makedirs(mine)
    mmcv.imwrite(np.full((32, 48, 3), 90, np.uint8), osp.join(mine, 'b.png'))
    with open(osp.join(mine, 'b.txt'), 'w') as f:
        f.write('the grey field\nthe whole image\n')
    mmcv.imwrite(np.zeros((8, 8), np.uint8), osp.join(mine, 'a.jpg'))
    with open(osp.join(mine, 'notes.md'), 'w') as f:
        f.write('not an example')
    port = free_port()
    log = osp.join(work_dir, 'server.log')
    with open(log, 'w') as out:
        process = subprocess.Popen([
            sys.executable, 'tools/web_demo.py', TINY_CONFIG, checkpoint,
            '--port',
            str(port), '--synthetic-dir',
            osp.join(work_dir, 'synthetic'), '--examples', mine
        ],
                                   cwd=REPO,
                                   env=tool_env(),
                                   stdout=out,
                                   stderr=subprocess.STDOUT)
    upload_dir = wait_for_server(process, log)
    images = osp.join(work_dir, 'synthetic', 'images', 'rrsisd', 'JPEGImages')
    image = osp.join(images, sorted(os.listdir(images))[0])
    yield App(f'http://127.0.0.1:{port}', upload_dir, model, image, work_dir)
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while osp.exists(upload_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    # the interpreter's own exit (torch, Gradio) takes 5-15 s more
    process.kill()
    process.wait()
    assert not osp.exists(upload_dir), 'the upload folder was not removed'
    with open(log) as f:
        assert 'Closing server running on port' in f.read()


def median_threshold(model: nn.Module, image: str, text: str) -> float:
    """A threshold splitting the random model's probabilities in half.

    At the config's 0.3 every pixel of the random model is foreground: a
    mask of all ones would hide a wrong image or sentence.
    """
    prob = inference_referring_model(model, image, text).seg_logits.data
    return round(float(prob.median()), 2)


def expected_masks(model: nn.Module, image: str, texts: List[str],
                   threshold: float) -> List[np.ndarray]:
    """The inference API's 0/1 masks, (H, W) uint8 each."""
    return [
        result.pred_sem_seg.data[0].numpy().astype(np.uint8)
        for result in inference_referring_model(model, image, texts, threshold)
    ]


def read_mask(path: str) -> np.ndarray:
    """A downloaded 0/255 mask PNG as 0/1."""
    mask = mmcv.imread(path, flag='unchanged')
    assert set(np.unique(mask)) <= {0, 255}
    return (mask // 255).astype(np.uint8)


@pytest.fixture(scope='module')
def client(app):
    return gradio_client.Client(
        app.url, verbose=False, download_files=osp.join(app.work_dir, 'dl'))


def segment(client,
            image: Optional[str],
            text: str,
            tta: bool = False,
            threshold: float = 0.3) -> tuple:
    """Call ``/segment``: overlays, probability maps, masks, report."""
    return client.predict(
        image and gradio_client.handle_file(image),
        text,
        tta,
        threshold,
        api_name='/segment')


@pytest.mark.parametrize('tta', [False, True])
def test_segment_endpoint(app, client, tta):
    threshold = median_threshold(app.model, app.image, SENTENCES[0])
    overlays, probabilities, masks, report = segment(
        client, app.image, '\n'.join(SENTENCES) + '\n\n', tta, threshold)
    model = referring_tta_model(app.model) if tta else app.model
    expected = expected_masks(model, app.image, SENTENCES, threshold)
    assert len(overlays) == len(probabilities) == len(masks) == 2
    for i, (sentence, mask) in enumerate(zip(SENTENCES, expected)):
        got = read_mask(masks[i])
        np.testing.assert_array_equal(got, mask)
        assert 0 < mask.sum() < mask.size  # the threshold makes it split
        assert overlays[i]['caption'] == (
            f'{i + 1}. {sentence}: {int(mask.sum())} px '
            f'({100 * mask.mean():.1f}%)')
        assert sentence in probabilities[i]['caption']
        overlay = mmcv.imread(overlays[i]['image'])
        # enlarged 4x (96 -> 384), the sentence on a banner above
        assert overlay.shape[1] == 384 and overlay.shape[0] > 384
    flip = 'flip TTA' if tta else 'no TTA'
    assert report.startswith('**2 sentence(s) in ')
    assert f'({flip}, threshold {threshold:g}, image 96 x 96)' in report


def test_requests_queue(app, client):
    """Requests sent at once are served one after the other, all of them."""
    jobs = [
        client.submit(
            gradio_client.handle_file(app.image),
            sentence,
            False,
            0.3,
            api_name='/segment') for sentence in SENTENCES * 2
    ]
    outputs = [job.result(timeout=120) for job in jobs]
    for sentence, (overlays, *_) in zip(SENTENCES * 2, outputs):
        assert overlays[0]['caption'].startswith(f'1. {sentence}: ')


def test_default_threshold_is_the_configs(app, client):
    *_, masks, _ = segment(client, app.image, SENTENCES[1])
    mask = inference_referring_model(app.model, app.image, SENTENCES[1])
    np.testing.assert_array_equal(
        read_mask(masks[0]), mask.pred_sem_seg.data[0].numpy())


def test_bad_requests_are_messages(app, client, tmp_path):
    """Each bad request is an error message; the server keeps serving."""
    not_image = tmp_path / 'notes.png'
    not_image.write_text('not an image')
    truncated = tmp_path / 'truncated.png'
    mmcv.imwrite(np.full((64, 64, 3), 128, np.uint8), str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:-40])
    cases = [
        (app.image, ' \n ', 'No sentence: type a referring expression'),
        (None, 'a car', 'No image: upload a PNG, JPEG or TIFF'),
        (str(not_image), 'a car', "Image 'notes.png' cannot be read (not "
         'an image'),
        (str(truncated), 'a car', "Image 'truncated.png' cannot be read "
         '(truncated or corrupt'),
        (app.image, '\n'.join(['car'] * 17), '17 sentences: at most 16'),
    ]
    for image, text, message in cases:
        with pytest.raises(gradio_client.exceptions.AppError) as error:
            segment(client, image, text)
        assert message in str(error.value)
    # noted, not refused: a huge image and a sentence past the tokenizer
    huge = tmp_path / 'huge.png'
    mmcv.imwrite(np.zeros((40, 3000, 3), np.uint8), str(huge))
    *_, masks, report = segment(client, str(huge), 'the car ' * 20)
    assert read_mask(masks[0]).shape == (27, 2048)
    assert ('- image: resized from 3000 x 40 to 2048 x 27 pixels (longest '
            'side 2048); the mask has this size') in report
    assert 'has 42 tokens; truncated to the context length 24' in report
    *_, masks, _ = segment(client, app.image, SENTENCES[0])
    assert read_mask(masks[0]).shape == (96, 96)


def chromium_driver(download_dir: str):
    """Headless Chromium through Debian's chromedriver."""
    webdriver = pytest.importorskip('selenium.webdriver', reason=WEB_EXTRA)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                     '--disable-dev-shm-usage', '--window-size=1280,1400'):
        options.add_argument(argument)
    options.add_experimental_option(
        'prefs', {'download.default_directory': download_dir})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(service=service, options=options)


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason='Chromium is not installed: apt-get install -y chromium '
    'chromium-driver (Debian; .ci/run does it as root)')
def test_page_in_chromium(app):
    """Upload, type, segment, download; an empty sentence shows an error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    threshold = median_threshold(app.model, app.image, SENTENCES[0])
    expected, = expected_masks(app.model, app.image, SENTENCES[:1], threshold)
    driver = chromium_driver(app.work_dir)
    wait = WebDriverWait(driver, 60)

    def element(selector: str):
        return wait.until(lambda d: d.find_element(By.CSS_SELECTOR, selector))

    def replace_text(selector: str, text: str) -> None:
        field = element(selector)
        field.send_keys(Keys.CONTROL, 'a')
        field.send_keys(Keys.DELETE)
        field.send_keys(text)

    try:
        driver.get(app.url)
        wait.until(lambda d: 'Your examples' in d.find_element(
            By.TAG_NAME, 'body').text)
        assert 'Synthetic scenes' in driver.find_element(By.TAG_NAME,
                                                         'body').text
        element('#image input[type=file]').send_keys(app.image)
        element('#preview img')
        replace_text('#sentences textarea', SENTENCES[0])
        replace_text('#threshold input[type=number]', str(threshold))
        element('#segment').click()
        element('#overlays img')
        link = element('#masks a[download]')
        assert link.get_attribute('download').startswith('mask_1_the_red')
        with urllib.request.urlopen(link.get_attribute('href')) as response:
            downloaded = str(osp.join(app.work_dir, 'page_mask.png'))
            with open(downloaded, 'wb') as f:
                f.write(response.read())
        np.testing.assert_array_equal(read_mask(downloaded), expected)
        report = element('#report').text
        assert f'threshold {threshold:g}' in report
        driver.save_screenshot(osp.join(app.work_dir, 'page.png'))
        # everything the page loaded came from the server itself
        loaded = driver.execute_script(
            'return performance.getEntriesByType("resource")'
            '.map(entry => entry.name)')
        assert loaded and all(url.startswith(app.url)
                              for url in loaded), loaded
        replace_text('#sentences textarea', ' ')
        element('#segment').click()
        wait.until(lambda d: 'No sentence: type a referring expression' in d.
                   find_element(By.TAG_NAME, 'body').text)
        driver.save_screenshot(osp.join(app.work_dir, 'page_error.png'))
    finally:
        driver.quit()


def test_web_demo_help():
    assert_documented('web_demo.py')


def test_examples(app):
    """The synthetic scenes (generated at start) and the user's folder."""
    tool = tool_module('web_demo.py')
    synthetic = tool['synthetic_examples'](osp.join(app.work_dir, 'synthetic'))
    assert len(synthetic) == 4
    for image, sentences in synthetic:
        assert osp.dirname(image) == osp.dirname(app.image)
        assert 1 <= len(sentences.splitlines()) <= 3
    mine = osp.join(app.work_dir, 'mine')
    assert tool['folder_examples'](mine) == [
        [osp.join(mine, 'a.jpg'), ''],
        [osp.join(mine, 'b.png'), 'the grey field\nthe whole image'],
    ]
    with pytest.raises(ValueError, match='holds no image'):
        tool['folder_examples'](osp.join(app.work_dir, 'synthetic'))


def test_web_demo_checkpoint_errors(monkeypatch, capsys, tmp_path):
    """No server without a checkpoint that fits the config."""
    unfit = tmp_path / 'unfit.pth'
    torch.save(dict(state_dict={'backbone.x': torch.zeros(1)}), unfit)
    for checkpoint, match in ((tmp_path / 'missing.pth', 'does not exist'),
                              (unfit, 'does not fit the model')):
        assert_cli_error(monkeypatch, capsys, 'web_demo.py',
                         [TINY_CONFIG, str(checkpoint)], match)

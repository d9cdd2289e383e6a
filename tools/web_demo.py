"""Serve a web page: an aerial image and sentences in, the masks out.

The page takes a PNG, JPEG or TIFF (8 or 16 bits, any number of bands:
scaled to 8-bit RGB, with a note saying how) and one referring expression
per line; per sentence it shows the mask over the image (filled, outlined,
the sentence as caption), the probability map and the 0/255 mask as a PNG
to download, with the inference time and the model. A flip
test-time-augmentation switch and the threshold go with each request.
Examples: a few synthetic scenes with their sentences (generated into
--synthetic-dir if absent) and, with --examples DIR, your own images
(sentences from a .txt file of the same name, one per line).

The endpoint ``/segment`` (image, sentences, tta, threshold -> overlays,
probability maps, mask PNGs, report) serves gradio_client the same as the
page. Requests queue and run one at a time; bad input is a message on the
page. The server only listens: no analytics, no share link. Uploads and
results live in a temporary folder removed at exit. Needs the web extra
(pip install -e '.[web]'; make install has it).

Example:
    python tools/web_demo.py configs/rs2sam2_tiny_synthetic.py \
        work_dirs/rs2sam2_tiny_synthetic/iter_2000.pth --port 7860
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import signal
import sys
import tempfile
import time
import warnings
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from torch import nn

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.apis import (inference_referring_model,
                                init_referring_model, read_raster,
                                referring_tta_model)
from rs2sam2_mmseg.synthetic import SyntheticParams, generate_synthetic_rrsisd
from rs2sam2_mmseg.utils import (USER_ERRORS, UserInputError, add_cfg_options,
                                 checkpoint_meta, run_cli, tool_parser)
from rs2sam2_mmseg.visualization import draw_referring_overlay

try:
    import gradio as gr
except ModuleNotFoundError as err:  # an optional extra
    sys.exit(f'error: {err.name} is not installed: pip install -e '
             "'.[web]' (make install does)")

#: Sentences one request may hold.
MAX_SENTENCES = 16
#: Overlays and probability maps are enlarged (nearest) to this side at
#: least, so that small tiles, their outlines and captions stay readable.
DISPLAY_SIDE = 384
#: RGB of the mask's outline on the overlay.
OUTLINE_COLOR = (255, 230, 0)
#: Synthetic example scenes shown, and sentences per scene.
EXAMPLE_SCENES = 4
EXAMPLE_SENTENCES = 3
#: Image suffixes of --examples folders.
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.tif', '.tiff')
#: Seconds a request's mask files stay downloadable.
RESULT_LIFETIME = 3600
#: Largest upload the server accepts.
MAX_FILE_SIZE = '256mb'


class SegmentOutput(NamedTuple):
    """What one request returns (the outputs of ``/segment``).

    Args:
        overlays (list[tuple[np.ndarray, str]]): Per sentence, the RGB
            overlay and its caption.
        probabilities (list[tuple[np.ndarray, str]]): Per sentence, the
            probability map (RGB, viridis) and its caption.
        masks (list[str]): Per sentence, a 0/255 PNG at the image size.
        report (str): Markdown: time, model, notes.
    """
    overlays: List[Tuple[np.ndarray, str]]
    probabilities: List[Tuple[np.ndarray, str]]
    masks: List[str]
    report: str


def parse_sentences(text: Optional[str]) -> List[str]:
    """One referring expression per non-blank line.

    Args:
        text (str, optional): The text box.

    Returns:
        list[str]: The sentences, stripped.
    """
    sentences = [line.strip() for line in (text or '').splitlines()]
    sentences = [line for line in sentences if line]
    if not sentences:
        raise UserInputError(
            'No sentence: type a referring expression such as "the red car '
            'on the left" (one per line)')
    if len(sentences) > MAX_SENTENCES:
        raise UserInputError(f'{len(sentences)} sentences: at most '
                             f'{MAX_SENTENCES} per request')
    return sentences


def parse_bands(text: str) -> List[int]:
    """``--bands 4,3,2`` as ``[4, 3, 2]``."""
    try:
        return [int(band) for band in text.split(',')]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f'{text!r}: give three 1-based band numbers, e.g. 4,3,2') \
            from err


def enlarge(image: np.ndarray) -> np.ndarray:
    """Enlarge small images (nearest) to :data:`DISPLAY_SIDE` at least."""
    factor = int(np.ceil(DISPLAY_SIDE / max(image.shape[:2])))
    if factor <= 1:
        return image
    return cv2.resize(
        image, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


class ReferringSegmenter:
    """The page's work: a model, its flip-TTA wrapper, the result files.

    Args:
        model (nn.Module): From :func:`init_referring_model`.
        out_dir (str): Folder for the mask PNGs (one sub-folder per
            request, removed :data:`RESULT_LIFETIME` seconds later).
        max_side (int): Longest image side; larger uploads are resized.
        bands (Sequence[int], optional): Bands of multi-band images shown
            as red, green, blue (1-based). Defaults to None (1, 2, 3).
    """

    def __init__(self,
                 model: nn.Module,
                 out_dir: str,
                 max_side: int,
                 bands: Optional[Sequence[int]] = None):
        self.model = model
        self.out_dir = out_dir
        self.max_side = max_side
        self.bands = bands
        self._tta_model = None

    def _request_dir(self) -> str:
        """A new folder for a request's masks; those of old ones go."""
        for name in os.listdir(self.out_dir):
            path = osp.join(self.out_dir, name)
            if name.startswith('masks_') and \
                    time.time() - osp.getmtime(path) > RESULT_LIFETIME:
                shutil.rmtree(path, ignore_errors=True)
        return tempfile.mkdtemp(dir=self.out_dir, prefix='masks_')

    def tta_model(self) -> nn.Module:
        """The flip-TTA wrapper, built on first use (shares the weights)."""
        if self._tta_model is None:
            self._tta_model = referring_tta_model(self.model)
        return self._tta_model

    def segment(self, image_path: Optional[str], text: Optional[str],
                tta: bool, threshold: float) -> SegmentOutput:
        """Segment what each sentence refers to in the image.

        Args:
            image_path (str, optional): The uploaded file.
            text (str, optional): One sentence per line.
            tta (bool): Average the flipped views (config's tta_pipeline).
            threshold (float): Probability threshold of the masks.

        Returns:
            SegmentOutput: Overlays, probability maps, mask files, report.
        """
        if not image_path:
            raise UserInputError('No image: upload a PNG, JPEG or TIFF, or '
                                 'click an example')
        sentences = parse_sentences(text)
        raster = read_raster(image_path, self.bands, self.max_side)
        model = self.tta_model() if tta else self.model
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            results = inference_referring_model(model, raster.image, sentences,
                                                threshold)
        seconds = time.perf_counter() - start
        model_notes = list(
            dict.fromkeys(
                str(w.message) for w in caught
                if f'{os.sep}rs2sam2_mmseg{os.sep}' in w.filename))
        request_dir = self._request_dir()
        rgb = mmcv.bgr2rgb(raster.image)
        overlays, probabilities, masks = [], [], []
        for i, (sentence, result) in enumerate(zip(sentences, results), 1):
            mask = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            prob = result.seg_logits.data[0].float().cpu().numpy()
            name = re.sub(r'[^a-z0-9]+', '_', sentence.lower()).strip('_')
            path = osp.join(request_dir, f'mask_{i}_{name[:40]}.png')
            mmcv.imwrite(mask * 255, path)
            masks.append(path)
            big = enlarge(mask)
            # the prediction drawn twice: filled, and its contour outlined
            overlay = draw_referring_overlay(
                enlarge(rgb),
                sentence,
                pred=big,
                gt=big,
                gt_color=OUTLINE_COLOR)
            area = f'{int(mask.sum())} px ({100 * mask.mean():.1f}%)'
            overlays.append((overlay, f'{i}. {sentence}: {area}'))
            heat = cv2.applyColorMap(
                np.round(prob * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
            probabilities.append(
                (enlarge(mmcv.bgr2rgb(heat)),
                 f'{i}. {sentence}: probability {prob.min():.2f}-'
                 f'{prob.max():.2f}'))
        height, width = raster.image.shape[:2]
        lines = [
            f'**{len(sentences)} sentence(s) in {seconds:.2f} s** '
            f'({"flip TTA" if tta else "no TTA"}, threshold {threshold:g}, '
            f'image {width} x {height})'
        ]
        lines += [f'- image: {note}' for note in raster.notes]
        lines += [f'- model: {note}' for note in model_notes]
        return SegmentOutput(overlays, probabilities, masks, '\n'.join(lines))

    def preview(self,
                image_path: Optional[str]) -> Tuple[Optional[np.ndarray], str]:
        """The uploaded image as the model will see it, and the notes."""
        if not image_path:
            return None, ''
        raster = read_raster(image_path, self.bands, self.max_side)
        height, width = raster.image.shape[:2]
        notes = [f'{width} x {height} pixels'] + raster.notes
        return mmcv.bgr2rgb(raster.image), '\n'.join(f'- {n}' for n in notes)


def on_page(function):
    """Show user errors (bad image, empty sentence, ...) on the page.

    Anything else is a bug: Gradio logs its traceback and shows 'Error'.
    """

    def wrapped(*args):
        try:
            return function(*args)
        except USER_ERRORS as err:
            raise gr.Error(str(err).strip().splitlines()[0]) from err

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    return wrapped


def synthetic_examples(root: str) -> List[List[str]]:
    """Example rows from the synthetic test split, generated if absent.

    Args:
        root (str): Dataset folder (a small one is generated there).

    Returns:
        list[list[str]]: ``[image, sentences (one per line)]`` rows.
    """
    summary = generate_synthetic_rrsisd(
        root, SyntheticParams(num_train=1, num_val=1, num_test=EXAMPLE_SCENES))
    files = summary['files']
    with open(files['scenes']) as f:
        scenes = json.load(f)['images']
    return [[
        osp.join(files['images'], scene['file_name']),
        '\n'.join(s['sent'] for s in scene['sentences'][:EXAMPLE_SENTENCES])
    ] for scene in scenes if scene['split'] == 'test'][:EXAMPLE_SCENES]


def folder_examples(folder: str) -> List[List[str]]:
    """Example rows from a folder of images (+ a .txt of sentences each).

    Args:
        folder (str): Images; ``<stem>.txt`` beside one holds its
            sentences, one per line (optional).

    Returns:
        list[list[str]]: ``[image, sentences]`` rows, by file name.
    """
    if not osp.isdir(folder):
        raise NotADirectoryError(f'--examples {folder!r} is not a folder')
    rows = []
    for name in sorted(os.listdir(folder)):
        stem, suffix = osp.splitext(name)
        if suffix.lower() not in IMAGE_SUFFIXES:
            continue
        text = osp.join(folder, f'{stem}.txt')
        sentences = ''
        if osp.isfile(text):
            with open(text, encoding='utf-8') as f:
                sentences = f.read().strip()
        rows.append([osp.join(folder, name), sentences])
    if not rows:
        raise UserInputError(f'--examples {folder!r} holds no image '
                             f'({", ".join(IMAGE_SUFFIXES)})')
    return rows


def model_summary(config: str, checkpoint: str, device: str,
                  threshold: float) -> str:
    """Markdown line naming the model on the page."""
    meta = checkpoint_meta(checkpoint)
    trained = f', iteration {meta["iter"]}' if 'iter' in meta else ''
    return (f'Model `{osp.basename(config)}`, checkpoint `{checkpoint}`'
            f'{trained}, on {device}; default threshold {threshold:g} '
            '(the config\'s)')


def build_demo(segmenter: ReferringSegmenter, summary: str,
               examples: Sequence[Tuple[str, List[List[str]]]],
               threshold: float) -> 'gr.Blocks':
    """The page and its ``/segment`` endpoint.

    Args:
        segmenter (ReferringSegmenter): Does the work.
        summary (str): The model line (see :func:`model_summary`).
        examples (Sequence[tuple[str, list]]): (label, rows) per example
            table.
        threshold (float): Default of the threshold slider.

    Returns:
        gr.Blocks: The app, not launched.
    """
    with gr.Blocks(
            title='RS2-SAM2 referring segmentation',
            analytics_enabled=False,
            delete_cache=(600, RESULT_LIFETIME)) as demo:
        gr.Markdown('# RS2-SAM2: segment what a sentence refers to\n'
                    f'{summary}')
        with gr.Row():
            with gr.Column():
                image = gr.File(
                    label='Aerial image (PNG, JPEG, TIFF: 8/16-bit, any '
                    'bands)',
                    file_types=list(IMAGE_SUFFIXES),
                    type='filepath',
                    elem_id='image')
                preview = gr.Image(
                    label='As the model sees it',
                    interactive=False,
                    height=240,
                    elem_id='preview')
                image_notes = gr.Markdown(elem_id='image-notes')
                sentences = gr.Textbox(
                    label='Sentences (one per line, one result each)',
                    placeholder='the red car on the left',
                    lines=3,
                    elem_id='sentences')
                with gr.Row():
                    tta = gr.Checkbox(
                        label='flip TTA (average the flipped views)',
                        elem_id='tta')
                    thresh = gr.Slider(
                        0.05,
                        0.95,
                        value=threshold,
                        step=0.01,
                        label='threshold',
                        elem_id='threshold')
                button = gr.Button(
                    'Segment', variant='primary', elem_id='segment')
            with gr.Column():
                report = gr.Markdown(elem_id='report')
                overlays = gr.Gallery(
                    label='Masks (filled and outlined)',
                    columns=2,
                    height=340,
                    object_fit='contain',
                    format='png',
                    elem_id='overlays')
                probabilities = gr.Gallery(
                    label='Probability maps (0 dark blue, 1 yellow)',
                    columns=2,
                    height=300,
                    object_fit='contain',
                    format='png',
                    elem_id='probabilities')
                masks = gr.File(
                    label='Masks as PNG (0/255, image size)',
                    file_count='multiple',
                    elem_id='masks')
        for label, rows in examples:
            gr.Examples(rows, [image, sentences], label=label)
        image.change(
            on_page(segmenter.preview), [image], [preview, image_notes],
            api_visibility='private')
        button.click(
            on_page(segmenter.segment), [image, sentences, tta, thresh],
            [overlays, probabilities, masks, report],
            api_name='segment')
    return demo


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint', help='checkpoint of tools/train.py for this config')
    parser.add_argument(
        '--device',
        default='cpu',
        help="'cpu', 'cuda', 'cuda:1', ... (default: %(default)s)")
    parser.add_argument(
        '--host',
        default='127.0.0.1',
        help='address to listen on; 0.0.0.0 serves the network '
        '(default: %(default)s)')
    parser.add_argument(
        '--port',
        type=int,
        default=7860,
        help='port to listen on (default: %(default)s)')
    parser.add_argument(
        '--examples',
        metavar='DIR',
        help='your example images (+ <stem>.txt with sentences each)')
    parser.add_argument(
        '--synthetic-dir',
        default='work_dirs/web_demo/synthetic',
        help='where the synthetic example scenes are (generated there if '
        'absent) (default: %(default)s)')
    parser.add_argument(
        '--max-side',
        type=int,
        default=2048,
        help='longest image side; larger images are resized, with a note '
        '(default: %(default)s)')
    parser.add_argument(
        '--bands',
        type=parse_bands,
        metavar='R,G,B',
        help='1-based bands of multi-band images shown as red, green, blue '
        '(default: 1,2,3)')
    parser.add_argument(
        '--queue-size',
        type=int,
        default=32,
        help='requests waiting at most; one runs at a time '
        '(default: %(default)s)')
    add_cfg_options(parser)
    return parser


def main() -> None:
    """Load the model, build the page, serve it until interrupted."""
    args = build_parser().parse_args()
    model = init_referring_model(args.config, args.checkpoint, args.device,
                                 args.cfg_options)
    examples = [('Synthetic scenes', synthetic_examples(args.synthetic_dir))]
    if args.examples:
        examples.append(('Your examples', folder_examples(args.examples)))
    threshold = model.decode_head.threshold
    summary = model_summary(args.config, args.checkpoint, args.device,
                            threshold)
    # SIGTERM as Ctrl-C: Gradio closes the server, the temporary folder
    # is removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix='rs2sam2_web_') as tmp:
        # no request leaves the machine: no analytics, no version check
        os.environ.update(
            GRADIO_TEMP_DIR=tmp, GRADIO_ANALYTICS_ENABLED='False')
        segmenter = ReferringSegmenter(model, tmp, args.max_side, args.bands)
        demo = build_demo(segmenter, summary, examples, threshold)
        demo.queue(default_concurrency_limit=1, max_size=args.queue_size)
        print(f'uploads and results go to {tmp} (removed at exit)', flush=True)
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            share=False,
            max_file_size=MAX_FILE_SIZE,
            allowed_paths=[
                osp.abspath(row[0]) for _, rows in examples for row in rows
            ],
            prevent_thread_lock=True)
        try:
            demo.block_thread()  # until Ctrl-C / SIGTERM
        finally:
            demo.close()


if __name__ == '__main__':
    run_cli(main)

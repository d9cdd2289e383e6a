"""The common base of the referring segmentation datasets."""
from typing import Dict, List, Optional, Sequence

import mmengine.fileio as fileio
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.utils import is_abs


class BaseReferSegDataset(BaseDataset):
    """Base of the binary referring segmentation datasets.

    One sample is one referring expression (sentence) with the mask of the
    object it refers to. Subclasses implement ``load_data_list()`` and use
    the checks here, so every dataset fails the same loud way:

    - an unknown ``split`` raises ValueError listing :attr:`SPLITS`;
    - missing files are all reported in ONE FileNotFoundError
      (:meth:`check_files_exist`);
    - an empty split raises ValueError (:meth:`finish_data_list`).

    Classes are ``('background', 'target')``: label 1 is the referred object.

    Args:
        split (str): One of :attr:`SPLITS`.
        backend_args (dict, optional): Arguments of the ``mmengine.fileio``
            backend, used for every file. Defaults to None.
        **kwargs: Other keyword arguments of
            :class:`mmengine.dataset.BaseDataset` (``data_root``,
            ``data_prefix``, ``ann_file``, ``pipeline``, ``test_mode``,
            ``lazy_init``, ...).
    """
    METAINFO: dict = dict(
        classes=('background', 'target'), palette=[[0, 0, 0], [255, 255, 255]])
    SPLITS: Sequence[str] = ('train', 'val', 'test')
    #: How many missing files an error message lists by name.
    MAX_LISTED = 5

    def __init__(self,
                 split: str,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: unknown split '
                             f'{split!r}, expected one of {list(self.SPLITS)}')
        self.split = split
        self.backend_args = backend_args.copy() if backend_args else None
        super().__init__(**kwargs)

    def join_data_root(self, path: str) -> str:
        """Resolve ``path`` relative to ``data_root`` unless it is absolute.

        Args:
            path (str): A path from the constructor arguments.

        Returns:
            str: The resolved path.
        """
        if self.data_root and not is_abs(path):
            return fileio.join_path(self.data_root, path)
        return path

    def check_file_exists(self, path: str, what: str) -> None:
        """Raise FileNotFoundError when one annotation file is missing.

        Args:
            path (str): The resolved path.
            what (str): The constructor argument it came from, e.g.
                'ann_file'.
        """
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{type(self).__name__}: {what} not found: {path} '
                f'(data_root={self.data_root!r})')

    def check_files_exist(self, files: Dict[str, str], what: str) -> None:
        """Report every missing file in one FileNotFoundError.

        Args:
            files (dict[str, str]): Path -> where it comes from (e.g.
                'image_id 7 (ref_id 3)'), checked in order.
            what (str): What the files are, e.g. 'image'.
        """
        missing = [
            f'{path} [{source}]' for path, source in files.items()
            if not fileio.exists(path, backend_args=self.backend_args)
        ]
        if missing:
            listed = '\n  '.join(missing[:self.MAX_LISTED])
            more = len(missing) - self.MAX_LISTED
            raise FileNotFoundError(
                f'{type(self).__name__} (split {self.split!r}): '
                f'{len(missing)} of {len(files)} {what} files are missing:'
                f'\n  {listed}' +
                (f'\n  ... and {more} more' if more > 0 else ''))

    def finish_data_list(self, data_list: List[dict], source: str,
                         summary: str) -> List[dict]:
        """Reject an empty split and log the dataset size.

        Args:
            data_list (list[dict]): The loaded samples.
            source (str): The annotation file, named in the error.
            summary (str): Per-split statistics appended to the log line.

        Returns:
            list[dict]: ``data_list`` itself.
        """
        if not data_list:
            raise ValueError(f'No sample in split "{self.split}" of {source} '
                             f'({summary})')
        print_log(
            f'{type(self).__name__}: split {self.split!r} has '
            f'{len(data_list)} samples; {summary}',
            logger='current')
        return data_list

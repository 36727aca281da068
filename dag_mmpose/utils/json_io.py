# Copyright (c) dag_mmpose contributors. All rights reserved.
"""JSON files read with their name in every error, and written atomically.

Every JSON file dag_mmpose reads goes through :func:`load_json`, so a file that is not JSON
(truncated, another format) is reported by path, never as a bare ``JSONDecodeError``. Every
JSON file it writes for later reading (generated splits, converted annotations, results) goes
through :func:`dump_json`: the text is written to a temporary file beside the target and
renamed over it in one ``os.replace``, so a reader never sees half a file and a run killed
mid-write leaves the previous file whole.
"""

import json
import os
import os.path as osp
import tempfile
from typing import Any

from mmengine.fileio import get_local_path

__all__ = ['dump_json', 'load_json']


def load_json(path: str) -> Any:
    """The parsed content of a JSON file (a local path or an mmengine backend URI).

    Raises:
        FileNotFoundError: The file does not exist (the error names it).
        ValueError: The file is not valid UTF-8 JSON, naming the file and where it breaks.
    """
    with get_local_path(path) as local_path:
        try:
            with open(local_path, encoding='utf-8') as f:
                return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f'{path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}'
            ) from None
        except UnicodeDecodeError as e:
            raise ValueError(f'{path} is not a UTF-8 JSON file ({e.reason})') from None


def dump_json(data: Any, path: str, **kwargs: Any) -> str:
    """Write ``data`` as JSON to ``path`` atomically; returns ``path``.

    The folder is created when missing. ``kwargs`` go to ``json.dump`` (``indent``,
    ``separators``). If serialization fails, nothing is written and an existing file at
    ``path`` stays as it was.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(data, f, **kwargs)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the permissions of a plain open()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    return path

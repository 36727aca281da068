# Copyright (c) dag_mmpose contributors. All rights reserved.
import json
import os

import pytest

from dag_mmpose.utils.json_io import dump_json, load_json


def test_round_trip_and_permissions(tmp_path):
    path = str(tmp_path / 'sub' / 'a.json')
    assert dump_json({'a': [1, 2]}, path, indent=1) == path
    assert load_json(path) == {'a': [1, 2]}
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path / 'sub') == ['a.json']  # no temporary left behind


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'a.json'
    path.write_text('{"old": true}')
    with pytest.raises(TypeError):
        dump_json({'bad': object()}, str(path))
    assert json.loads(path.read_text()) == {'old': True}
    assert os.listdir(tmp_path) == ['a.json']


def test_errors_name_the_file(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('{"a": [1, 2')
    with pytest.raises(ValueError, match=r'broken.json is not valid JSON: .* line 1 column'):
        load_json(str(broken))
    binary = tmp_path / 'binary.json'
    binary.write_bytes(b'\xff\xfe\x00\x01')
    with pytest.raises(ValueError, match='binary.json is not a UTF-8 JSON file'):
        load_json(str(binary))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_json(str(tmp_path / 'missing.json'))

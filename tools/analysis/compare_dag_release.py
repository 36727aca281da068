# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Compare our ``dag-release`` model with the authors' release, stage by stage.

Reads a fixture written by ``tools/misc/make_dag_release_fixture.py`` (the release's
checkpoint, inputs and outputs), converts its checkpoint with
``tools/model_converters/dag_release2mmpose.py``, runs our model on the same inputs and
prints the largest absolute difference at every stage, with the GCN on its running
statistics (``eval``) and on each batch's (``batch``, the release's test), as a markdown
table (``--json`` also writes them); ``--switches`` also measures what each release switch
does: the final keypoints with that switch back at our default.

Example::

    python tools/misc/make_dag_release_fixture.py ../release --out /tmp/w32 --fixture \\
        --arch w32
    python tools/analysis/compare_dag_release.py /tmp/w32/dag_release_w32.npz
"""

import argparse
import json
import tempfile

from dag_mmpose.testing.release import (
    STAGES,
    build_model,
    convert_fixture,
    load_fixture,
    release_outputs,
    run_ours,
    stage_differences,
    switch_effects,
)

_UNITS = dict(
    initial_keypoints='px',
    keypoints='px',
    offsets='box / 2',
    points='[-1, 1]',
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('fixture', help='.npz written by make_dag_release_fixture.py')
    parser.add_argument('--json', help='also write the differences to this file')
    parser.add_argument(
        '--switches',
        action='store_true',
        help='also measure each release switch: the keypoints with it back at our default',
    )
    args = parser.parse_args()
    fixture = load_fixture(args.fixture)
    with tempfile.TemporaryDirectory() as tmp_dir:
        cfg, state = convert_fixture(fixture, tmp_dir)
    model = build_model(cfg, state)
    diffs = {
        mode: stage_differences(release_outputs(fixture, mode), run_ours(model, fixture, mode))
        for mode in ('eval', 'batch')
    }
    meta = fixture['meta']
    print(
        f'\n{meta["arch"]} release model ({meta["image_size"][0]}x{meta["image_size"][1]} '
        f'input, {len(fixture["inputs/images"])} crops, seed {meta["seed"]}): largest '
        'absolute difference, release vs ours\n'
    )
    print('| stage | unit | GCN eval mode | GCN batch statistics |')
    print('| --- | --- | --- | --- |')
    for stage in STAGES:
        unit = _UNITS.get(stage, 'value')
        print(f'| {stage} | {unit} | {diffs["eval"][stage]:.2e} | {diffs["batch"][stage]:.2e} |')
    effects = None
    if args.switches:
        effects = switch_effects(fixture, cfg, state)
        print('\nWith one switch back at our default: distance of the final keypoints from the')
        print("release's (image px)\n")
        print('| release behaviour | max | mean |')
        print('| --- | --- | --- |')
        for name, effect in effects.items():
            print(f'| {name} | {effect["max"]:.3g} | {effect["mean"]:.3g} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(meta=meta, differences=diffs, switches=effects), f, indent=1)


if __name__ == '__main__':
    main()

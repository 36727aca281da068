# Copyright (c) dag_mmpose contributors. All rights reserved.
"""What :func:`~dag_mmpose.datasets.instance_pool_builder.build_instance_pool` reports: its
summary in a few lines, the skip counts and what to change when nobody was kept."""

from typing import Any, Dict, Sequence

__all__ = ['CROWDPOSE_HINT', 'format_counts', 'format_summary', 'nobody_kept_hint']

CROWDPOSE_HINT = (
    'CrowdPose annotations have no person masks (only boxes and keypoints), so a pool '
    'cannot be built from them: build it from a dataset with person segmentations, e.g. '
    'COCO train2017 (annotations/person_keypoints_train2017.json + train2017/) or '
    "OCHuman, and map its keypoints with InstancePaste's `keypoint_mapping` if the joints "
    'differ.'
)


def format_counts(skipped: Dict[str, int]) -> str:
    """``'crowd 2, small 5'``: the reasons that skipped someone, or ``'none'``."""
    counts = [f'{reason} {n}' for reason, n in skipped.items() if n]
    return ', '.join(counts) if counts else 'none'


def nobody_kept_hint(
    skipped: Dict[str, int], num_keypoints: int, unlisted: Sequence[Any] = ()
) -> str:
    """What to change when nobody passed the filters, after the reason that skipped the most
    (``unlisted``: a few image ids that ``images`` does not list)."""
    top = max(skipped, key=lambda r: skipped[r])
    if skipped[top] == 0:
        return 'The file has no person annotations.'
    hints = dict(
        no_image_entry=(
            f'{skipped["no_image_entry"]} annotations name image ids that `images` does not '
            f'list (e.g. {list(unlisted)}): their `image_id` must be the `id` of an image '
            'entry.'
        ),
        unreadable_image='The image files exist but do not decode (truncated or not images).',
        few_keypoints=(
            'The annotations carry no keypoints: use min_keypoints=0 (--min-keypoints 0).'
            if num_keypoints == 0
            else 'Lower min_keypoints (--min-keypoints).'
        ),
        small='Lower min_area (--min-area).',
        border='Raise max_border (--max-border).',
        hidden='Lower min_on_mask (--min-on-mask).',
        overlap='Raise max_overlap (--max-overlap).',
        missing_image='Check that the image directory matches the annotation file.',
        no_segmentation=CROWDPOSE_HINT,
        not_person='The file has no person category.',
    )
    return hints.get(top, '')


def format_summary(summary: Dict[str, Any]) -> str:
    """A few human-readable lines about what
    :func:`~dag_mmpose.datasets.instance_pool_builder.build_instance_pool` did.

    Args:
        summary (dict): Its return value.

    Returns:
        str: The text (no trailing newline).
    """
    lines = [
        f'instance pool: {summary["index_file"]}',
        f'  kept {summary["num_kept"]} of {summary["num_annotations"]} annotations '
        f'({summary["num_images"]} images, {summary["num_keypoints"]} keypoints, '
        f'{summary["data_bytes"] / 2**20:.1f} MiB of crops)',
    ]
    if summary.get('dropped_keypoints'):
        lines.append(
            f'  {summary["dropped_keypoints"]} labelled keypoints off their mask stored unlabelled'
        )
    lines += [f'  skipped {n:6d}  {reason}' for reason, n in summary['skipped'].items() if n]
    return '\n'.join(lines)

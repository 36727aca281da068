# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Graphs of a skeleton: adjacency matrices and hop distances for graph convolutions.

Joint features are laid out as (B, J, C) by the layers that use these matrices
(:mod:`dag_mmpose.models.utils.multi_hop_gcn`). All matrices are (J, J), float32, row ``i``
= what joint ``i`` receives:

- :func:`skeleton_adjacency`: the 1-hop skeleton with a unit diagonal (self loops)
  before normalization, ``D^-1 (A + I)``; every row sums to 1.
- :func:`k_hop_adjacency`: joints at shortest-path distance *exactly* ``k``, without self
  loops, row-normalized ``D_k^-1 A_k`` so that a joint takes the *mean* of its ``k``-hop
  neighbors. A joint without any ``k``-hop neighbor keeps an all-zero row (instead of a
  division by zero): it then receives nothing through that hop.
"""

import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from scipy.sparse.csgraph import shortest_path
from torch import Tensor

__all__ = [
    'SkeletonLinks',
    'check_skeleton_links',
    'couple_links',
    'hop_distances',
    'k_hop_adjacency',
    'multi_hop_adjacencies',
    'resolve_skeleton_links',
    'skeleton_adjacency',
]

SkeletonLinks = Sequence[Sequence[int]]


def check_skeleton_links(skeleton_links: SkeletonLinks, num_joints: int) -> List[Tuple[int, int]]:
    """Validate skeleton links and return them as a list of int pairs.

    Args:
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs.
        num_joints (int): Number of joints J.

    Returns:
        List[Tuple[int, int]]: The links.

    Raises:
        ValueError: If a link is not a pair or names a joint outside [0, J).
    """
    if num_joints <= 0:
        raise ValueError(f'num_joints must be positive, got {num_joints}')
    links = []
    for link in skeleton_links:
        if len(link) != 2:
            raise ValueError(f'a skeleton link must be a joint index pair, got {link}')
        i, j = int(link[0]), int(link[1])
        if not (0 <= i < num_joints and 0 <= j < num_joints):
            raise ValueError(
                f'skeleton link {tuple(link)} names a joint outside [0, {num_joints}); '
                'does the skeleton belong to a dataset with another number of keypoints?'
            )
        links.append((i, j))
    return links


def _binary_adjacency(skeleton_links: SkeletonLinks, num_joints: int) -> Tensor:
    """Symmetric 0/1 adjacency of the skeleton without self loops, shape (J, J)."""
    adjacency = torch.zeros(num_joints, num_joints)
    for i, j in check_skeleton_links(skeleton_links, num_joints):
        if i != j:
            adjacency[i, j] = adjacency[j, i] = 1.0
    return adjacency


def _row_normalize(matrix: Tensor) -> Tensor:
    """``D^-1 M`` where D holds the row sums; all-zero rows stay zero."""
    degree = matrix.sum(dim=1, keepdim=True)
    return torch.where(degree > 0, matrix / degree.clamp(min=1e-12), torch.zeros_like(matrix))


def skeleton_adjacency(
    skeleton_links: SkeletonLinks, num_joints: int, self_loops: bool = True
) -> Tensor:
    """Row-normalized 1-hop adjacency of a skeleton.

    Args:
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs, e.g.
            ``skeleton_links`` of mmpose's ``parse_pose_metainfo``. Direction is ignored.
        num_joints (int): Number of joints J.
        self_loops (bool): Put 1 on the diagonal before normalizing (``A + I``).
            Defaults to ``True``.

    Returns:
        Tensor: ``D^-1 A`` in shape (J, J); rows sum to 1 (isolated joints without self
        loops keep a zero row).

    Example:
        >>> skeleton_adjacency([(0, 1), (1, 2)], 3)
        tensor([[0.5000, 0.5000, 0.0000],
                [0.3333, 0.3333, 0.3333],
                [0.0000, 0.5000, 0.5000]])
    """
    adjacency = _binary_adjacency(skeleton_links, num_joints)
    if self_loops:
        adjacency = adjacency + torch.eye(num_joints)
    return _row_normalize(adjacency)


def hop_distances(skeleton_links: SkeletonLinks, num_joints: int) -> Tensor:
    """Shortest-path distances (in links) between all joint pairs.

    Args:
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs.
        num_joints (int): Number of joints J.

    Returns:
        Tensor: int64 distances in shape (J, J); 0 on the diagonal, -1 where two joints
        are not connected.
    """
    adjacency = _binary_adjacency(skeleton_links, num_joints).numpy()
    # unweighted: every link counts 1; unreachable pairs come back as inf
    distances = shortest_path(adjacency, method='D', directed=False, unweighted=True)
    return torch.from_numpy(np.where(np.isinf(distances), -1, distances).astype(np.int64))


def k_hop_adjacency(
    skeleton_links: SkeletonLinks,
    num_joints: int,
    k: int,
    normalize: bool = True,
    self_links_in_degree: bool = False,
) -> Tensor:
    """Adjacency of the joints at shortest-path distance exactly ``k``.

    Args:
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs.
        num_joints (int): Number of joints J.
        k (int): Hop count, ``k >= 1``.
        normalize (bool): Row-normalize (``D_k^-1 A_k``: mean over the k-hop
            neighbors). Defaults to ``True``.
        self_links_in_degree (bool): With ``k=1``, a self link ``(i, i)`` in
            ``skeleton_links`` counts towards joint ``i``'s degree in the normalization
            (the diagonal stays zero), as the authors' DAG release normalizes its COCO
            table, which links the right ear to itself. Defaults to ``False`` (self links
            are ignored).

    Returns:
        Tensor: Float32 matrix in shape (J, J) with a zero diagonal; a joint with no
        k-hop neighbor has an all-zero row.

    Example:
        >>> k_hop_adjacency([(0, 1), (1, 2), (2, 3)], 4, k=2)
        tensor([[0., 0., 1., 0.],
                [0., 0., 0., 1.],
                [1., 0., 0., 0.],
                [0., 1., 0., 0.]])
    """
    if k < 1:
        raise ValueError(f'k must be >= 1 (self connections are not a hop), got {k}')
    adjacency = (hop_distances(skeleton_links, num_joints) == k).float()
    if not normalize:
        return adjacency
    if self_links_in_degree and k == 1:
        looped = {i for i, j in check_skeleton_links(skeleton_links, num_joints) if i == j}
        extra = torch.zeros(num_joints, 1)
        extra[sorted(looped)] = 1.0
        degree = adjacency.sum(dim=1, keepdim=True) + extra
        return torch.where(degree > 0, adjacency / degree.clamp(min=1e-12), adjacency)
    return _row_normalize(adjacency)


def multi_hop_adjacencies(
    skeleton_links: SkeletonLinks,
    num_joints: int,
    num_hops: int,
    self_links_in_degree: bool = False,
) -> Tensor:
    """Stack of the normalized 1..``num_hops`` exact-hop adjacencies.

    Args:
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs.
        num_joints (int): Number of joints J.
        num_hops (int): Number of hops H.
        self_links_in_degree (bool): Self links count towards the 1-hop degree, see
            :func:`k_hop_adjacency`. Defaults to ``False``.

    Returns:
        Tensor: Float32 tensor in shape (H, J, J); entry ``k - 1`` is
        ``k_hop_adjacency(..., k)``.
    """
    if num_hops < 1:
        raise ValueError(f'num_hops must be >= 1, got {num_hops}')
    return torch.stack(
        [
            k_hop_adjacency(
                skeleton_links, num_joints, k, self_links_in_degree=self_links_in_degree
            )
            for k in range(1, num_hops + 1)
        ]
    )


def resolve_skeleton_links(
    metainfo: Optional[dict],
    skeleton_links: Optional[SkeletonLinks],
    num_keypoints: int,
    owner: str,
) -> List[Tuple[int, int]]:
    """The skeleton of a graph head: ``skeleton_links``, or those of the dataset metainfo.

    Args:
        metainfo (dict, optional): Dataset meta information, e.g.
            ``dict(from_file='configs/_base_/datasets/coco.py')``, parsed by mmpose's
            ``parse_pose_metainfo`` (mmpose's own dataset configs are found even when mmpose
            is installed as a package).
        skeleton_links (Sequence[Sequence[int]], optional): Links as (i, j) joint pairs.
        num_keypoints (int): K of the head.
        owner (str): The head's name, for the errors.

    Returns:
        List[Tuple[int, int]]: The checked links (at least one, every joint linked).

    Raises:
        ValueError: Both or neither source given, a metainfo of another joint count, links
            naming joints beyond ``num_keypoints``, or joints without any link (a skeleton
            of a dataset with fewer keypoints).
    """
    if (metainfo is None) == (skeleton_links is None):
        raise ValueError(
            f'{owner} needs exactly one of `metainfo` (e.g. '
            "dict(from_file='configs/_base_/datasets/coco.py')) and `skeleton_links`"
        )
    if metainfo is not None:
        metainfo = dict(metainfo)
        from_file = metainfo.get('from_file')
        if isinstance(from_file, str) and from_file.startswith('dag_mmpose/'):
            # dag_mmpose's own metainfo files, also when running outside the repository
            if not osp.isfile(from_file):
                package_root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
                metainfo['from_file'] = osp.join(package_root, from_file)
        meta = parse_pose_metainfo(metainfo)
        if meta['num_keypoints'] != num_keypoints:
            raise ValueError(
                f'the metainfo of {meta.get("dataset_name")!r} has '
                f'{meta["num_keypoints"]} keypoints but the base head predicts '
                f'{num_keypoints}'
            )
        skeleton_links = meta['skeleton_links']
    links = check_skeleton_links(skeleton_links, num_keypoints)
    if not links:
        raise ValueError(f'{owner} needs a skeleton with at least one link')
    linked = {joint for link in links for joint in link}
    isolated = [joint for joint in range(num_keypoints) if joint not in linked]
    if isolated:
        # a joint without a link gets no message from any other joint, and a skeleton of
        # fewer joints than the head leaves exactly the joints beyond it unlinked
        raise ValueError(
            f'{owner}: joints {isolated} of the {num_keypoints} the head predicts have no link '
            f'in the skeleton (its joints reach {max(linked)}): is the skeleton of a dataset '
            'with other keypoints? Every joint needs a link to take part in the graph'
        )
    return links


def couple_links(skeleton_links: SkeletonLinks, num_joints: int) -> List[Tuple[int, int]]:
    """The graph of two people (OPEC-Net's CoupleGraph): joints ``0 .. K-1`` are the first
    person, ``K .. 2K-1`` the second; both skeletons plus a link between the same joint of
    the two (``i`` -- ``i + K``).

    Example:
        >>> couple_links([(0, 1)], 2)
        [(0, 1), (2, 3), (0, 2), (1, 3)]
    """
    links = check_skeleton_links(skeleton_links, num_joints)
    second = [(i + num_joints, j + num_joints) for i, j in links]
    between = [(i, i + num_joints) for i in range(num_joints)]
    return links + second + between

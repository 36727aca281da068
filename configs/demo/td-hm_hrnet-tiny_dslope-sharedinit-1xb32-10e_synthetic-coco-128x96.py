# D-Slope demo with GNet starting from ENet's initial weights (shared_init=True), as the two
# networks start when both load one pretrained checkpoint (the W32 configs' ImageNet HRNet).
# The demo networks train from scratch: without it their random initialisations differ and
# ENet's feature mimic term pulls it towards an unrelated network at first.
_base_ = ['./td-hm_hrnet-tiny_dslope-1xb32-10e_synthetic-coco-128x96.py']

model = dict(shared_init=True)

# Copyright (c) dag_mmpose contributors. All rights reserved.
# OPEC-Net's 12-joint skeleton (OCPose; CrowdPose joints 0-11 and COCO joints 5-16 without
# the head): shoulders, elbows, wrists, hips, knees, ankles, left before right. Sigmas are
# CrowdPose's first 12 (as OPEC-Net scores CrowdPose and OCPose), joint weights COCO's for
# the same joints. Colors: left green, right orange, centre links blue.
dataset_info = dict(
    dataset_name='ocpose',
    paper_info=dict(
        author='Qiu, Lingteng and Zhang, Xuanye and Li, Yanran and Li, Guanbin and '
        'Wu, Xiaojun and Xiong, Zixiang and Han, Xiaoguang and Cui, Shuguang',
        title='Peeking into occluded joints: A novel framework for crowd pose estimation',
        container='European Conference on Computer Vision (ECCV)',
        year='2020',
        homepage='https://github.com/lingtengqiu/OPEC-Net',
    ),
    keypoint_info={
        0: dict(name='left_shoulder', id=0, color=[0, 255, 0], type='upper', swap='right_shoulder'),
        1: dict(
            name='right_shoulder', id=1, color=[255, 128, 0], type='upper', swap='left_shoulder'
        ),
        2: dict(name='left_elbow', id=2, color=[0, 255, 0], type='upper', swap='right_elbow'),
        3: dict(name='right_elbow', id=3, color=[255, 128, 0], type='upper', swap='left_elbow'),
        4: dict(name='left_wrist', id=4, color=[0, 255, 0], type='upper', swap='right_wrist'),
        5: dict(name='right_wrist', id=5, color=[255, 128, 0], type='upper', swap='left_wrist'),
        6: dict(name='left_hip', id=6, color=[0, 255, 0], type='lower', swap='right_hip'),
        7: dict(name='right_hip', id=7, color=[255, 128, 0], type='lower', swap='left_hip'),
        8: dict(name='left_knee', id=8, color=[0, 255, 0], type='lower', swap='right_knee'),
        9: dict(name='right_knee', id=9, color=[255, 128, 0], type='lower', swap='left_knee'),
        10: dict(name='left_ankle', id=10, color=[0, 255, 0], type='lower', swap='right_ankle'),
        11: dict(name='right_ankle', id=11, color=[255, 128, 0], type='lower', swap='left_ankle'),
    },
    skeleton_info={
        0: dict(link=('left_shoulder', 'right_shoulder'), id=0, color=[51, 153, 255]),
        1: dict(link=('left_shoulder', 'left_elbow'), id=1, color=[0, 255, 0]),
        2: dict(link=('left_elbow', 'left_wrist'), id=2, color=[0, 255, 0]),
        3: dict(link=('right_shoulder', 'right_elbow'), id=3, color=[255, 128, 0]),
        4: dict(link=('right_elbow', 'right_wrist'), id=4, color=[255, 128, 0]),
        5: dict(link=('left_shoulder', 'left_hip'), id=5, color=[51, 153, 255]),
        6: dict(link=('right_shoulder', 'right_hip'), id=6, color=[51, 153, 255]),
        7: dict(link=('left_hip', 'right_hip'), id=7, color=[51, 153, 255]),
        8: dict(link=('left_hip', 'left_knee'), id=8, color=[0, 255, 0]),
        9: dict(link=('left_knee', 'left_ankle'), id=9, color=[0, 255, 0]),
        10: dict(link=('right_hip', 'right_knee'), id=10, color=[255, 128, 0]),
        11: dict(link=('right_knee', 'right_ankle'), id=11, color=[255, 128, 0]),
    },
    joint_weights=[1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5],
    sigmas=[0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089],
)

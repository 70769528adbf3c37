"""FIB-SEM stack correction: alignment, shear/tilt geometry, destriping, denoising, segmentation."""

"""FIB-SEM stack correction: alignment, shear/tilt geometry, destriping, denoising, segmentation."""

from ionscope.io.tiff_stack import read_stack
from ionscope.tomo.align import align_stack, apply_shifts, apply_transforms, slice_transforms
from ionscope.tomo.cleanup import psf_resolution_voxels, remove_partial_volume_specks
from ionscope.tomo.correct import correct_shading, gaussian_denoise, nlmeans_denoise
from ionscope.tomo.destripe import destripe, wavelet_fft_destripe_slice, wedge_destripe_slice
from ionscope.tomo.geometry import correct_view_geometry, true_slice_thickness
from ionscope.tomo.segment import RandomForestSegmenter, multi_otsu_segment, watershed_particles, white_tophat

__all__ = ["RandomForestSegmenter", "align_stack", "apply_shifts", "apply_transforms", "correct_shading",
           "correct_view_geometry", "destripe", "gaussian_denoise", "multi_otsu_segment", "nlmeans_denoise",
           "psf_resolution_voxels", "read_stack", "remove_partial_volume_specks", "slice_transforms",
           "true_slice_thickness", "watershed_particles", "wavelet_fft_destripe_slice", "wedge_destripe_slice",
           "white_tophat"]

"""Ion images and event binning, ratios, ROIs and registration of image series."""

from ionscope.imaging.ion_images import ion_images
from ionscope.io.events import bin_events, bin_events_to_zarr, channel_lut
from ionscope.library.windows import peak_windows

__all__ = ["bin_events", "bin_events_to_zarr", "channel_lut", "ion_images", "peak_windows"]

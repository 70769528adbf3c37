"""Ion images and event binning, ratios, ROIs and registration of image series."""

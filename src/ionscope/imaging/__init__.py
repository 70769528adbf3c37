"""Ion images and event binning (peak windows on imzML/BIF6/events, bounded-memory histogramming), ratios, ROIs and registration."""

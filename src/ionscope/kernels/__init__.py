"""Low-level numerical kernels shared by readers and analyses: no I/O, no knowledge of file formats.

* :mod:`~ionscope.kernels.binning`: compiled sums of sparse spectra into m/z windows or bins.
* :mod:`~ionscope.kernels.deadtime`: the detector dead-time correction of TOF counts.
"""

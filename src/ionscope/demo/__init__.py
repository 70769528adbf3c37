"""``ionscope demo``: every capability run on the virtual instrument, written into one report.

One module per capability (``spectra``, ``depth``, ``diffusion``, ``imaging``, ``mva``,
``operando``, ``micro``, ``synth``), each with ``TITLE``, ``ORDER`` and ``build(ctx)``;
:mod:`ionscope.demo.runner` runs them in ``ORDER``. This package sits above :mod:`ionscope.synth`
and the analysis packages, so no analysis package imports the simulator.
"""

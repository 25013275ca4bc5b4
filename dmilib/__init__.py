"""dmilib: infer the interfacial Dzyaloshinskii–Moriya interaction from one domain image.

The package follows the pipeline of the study it reproduces:

``simulate``  micromagnetic solver (NumPy on the CPU, CuPy on a GPU, one code path)
``dataset``   labelled bubble snapshots in resumable Zarr stores, generated on Dask
``degrade``   component selection, pixelation, noise, Kerr optics
``learn``     the compact CNN, splits, multi-seed experiments, a ridge shape baseline
``infer``     D from a user's image (``dmilib predict``)
"""

__version__ = "0.1.0"

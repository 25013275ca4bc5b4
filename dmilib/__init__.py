"""dmilib: infer the interfacial Dzyaloshinskii–Moriya interaction from one domain image.

The package follows the pipeline of the study it reproduces:

``simulate``  micromagnetic solver (NumPy on the CPU, CuPy on a GPU, one code path)
``dataset``   labelled bubble snapshots (a later stage)
``degrade``   component selection, pixelation, noise, Kerr optics (a later stage)
``learn``     the compact CNN and its experiments (a later stage)
``infer``     D from a user's image (a later stage)
"""

__version__ = "0.1.0"

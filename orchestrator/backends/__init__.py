"""Model code run by Triton's python backend.

Each ``model_repository/<model>/<version>/model.py`` is a one-line entry point that imports a
``TritonPythonModel`` from here, so every version of a model shares one implementation and the
version folders hold only that entry point and the fetched weights. These modules are imported
inside the python-backend stub, whose interpreter is the project's virtual environment.
"""

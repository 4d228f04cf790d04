"""snapclip: find the moments of a long video most likely to be popular and cut them into clips.

The package holds the orchestrator (CLI, pipeline stages, Triton client) and, under
``orchestrator.backends``, the code Triton's python backend runs for each model. Importing the
package is cheap: nothing heavy is imported at the top level.
"""

__version__ = "0.1.0"

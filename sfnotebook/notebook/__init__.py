"""The notebook front-ends: the ipywidgets login panel and the IPython magics.

They call the public verbs only and hold no HTTP code; ipywidgets and IPython are imported
when a front-end is first used, so ``import sfnotebook`` stays light.
"""

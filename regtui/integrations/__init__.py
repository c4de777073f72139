"""Adapters that make other training frameworks write regtui runs through regtui.api.

lightning: RegtuiLogger (a Lightning Logger); accelerate: RegtuiTracker (an Accelerate
GeneralTracker). Each needs its framework installed (`pip install 'regtui[lightning]'`,
`'regtui[accelerate]'`); importing this package imports neither.
"""

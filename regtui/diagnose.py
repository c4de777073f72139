from __future__ import annotations
class Diagnoser:
    def __init__(self, cfg, presets=(), num_classes=10): pass
    def update(self, epoch): return []
    def state_dict(self): return {}
    def load_state_dict(self, state): pass

from .beit3 import BEiT3
from .beit3_union_encoder import BEiT3UnionEncoder
from .union_encoder import MultiwayLayer, UnionEncoder

__all__ = ['BEiT3', 'BEiT3UnionEncoder', 'MultiwayLayer', 'UnionEncoder']

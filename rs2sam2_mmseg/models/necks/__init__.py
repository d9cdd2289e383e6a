from .union_encoder import MultiwayLayer, UnionEncoder

__all__ = ['MultiwayLayer', 'UnionEncoder']

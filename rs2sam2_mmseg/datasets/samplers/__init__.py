"""Data samplers (registry DATA_SAMPLERS)."""
from .sentence_type_sampler import SentenceTypeWeightedSampler

__all__ = ['SentenceTypeWeightedSampler']

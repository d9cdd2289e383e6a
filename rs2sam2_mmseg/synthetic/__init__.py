"""The synthetic benchmark of the demo: generator, report, sampler, hook.

Demo-only machinery, kept apart from the model and the real datasets: the
RRSIS-D-format generator (:mod:`.generator`), the analysis of its results
(:mod:`.report`), the sentence-type sampler (registry DATA_SAMPLERS) and the
training time budget hook (registry HOOKS).
"""
from .generator import (SENTENCE_TYPES, SyntheticParams, format_summary,
                        generate_synthetic_rrsisd, output_paths)
from .report import (category_only_baseline, load_scene_sentences,
                     miou_per_sentence_type)
from .sentence_type_sampler import SentenceTypeWeightedSampler
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = [
    'SENTENCE_TYPES', 'SyntheticParams', 'format_summary',
    'generate_synthetic_rrsisd', 'output_paths', 'category_only_baseline',
    'load_scene_sentences', 'miou_per_sentence_type',
    'SentenceTypeWeightedSampler', 'TrainTimeBudgetHook'
]

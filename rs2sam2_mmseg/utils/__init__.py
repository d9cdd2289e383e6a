"""Config, command-line and report helpers of the tools."""
from .checkpoint_files import (CheckpointError, check_output_path,
                               copy_tokenizer_file, find_tokenizer_file,
                               load_state_dict)
from .cli import (USER_ERRORS, add_cfg_options, add_runner_arguments,
                  free_port, parse_tool_args, run_cli, tool_parser)
from .config import (LAUNCHERS, PRETRAINED_PATHS, TEXT_ABLATIONS,
                     apply_pretrained_paths, changed_recipe, checkpoint_meta,
                     configure_amp, configure_denormals, configure_launcher,
                     configure_resume, configure_test, load_config,
                     set_work_dir, tta_model_config)
from .report import format_metric_table, format_table, save_metrics
from .weights import (BEIT3_LAYOUT, LAYOUTS, OFFICIAL_LAYOUT, OPEN_CLIP_LAYOUT,
                      RS2SAM2_LAYOUT, SAM2_LAYOUT, CheckpointReport,
                      ComponentReport, KeyLayout, check_complete,
                      format_checkpoint_report, inspect_checkpoints,
                      match_checkpoint, match_state_dict, merge_state_dicts,
                      model_state_for_config, read_checkpoint,
                      save_init_checkpoint)

__all__ = [
    'USER_ERRORS', 'add_cfg_options', 'add_runner_arguments', 'free_port',
    'parse_tool_args', 'run_cli', 'tool_parser', 'LAUNCHERS',
    'PRETRAINED_PATHS', 'TEXT_ABLATIONS', 'apply_pretrained_paths',
    'changed_recipe', 'checkpoint_meta', 'configure_amp',
    'configure_denormals', 'configure_launcher', 'configure_resume',
    'configure_test', 'load_config', 'set_work_dir', 'tta_model_config',
    'CheckpointError', 'check_output_path', 'copy_tokenizer_file',
    'find_tokenizer_file', 'load_state_dict', 'format_metric_table',
    'format_table', 'save_metrics', 'BEIT3_LAYOUT', 'LAYOUTS',
    'OFFICIAL_LAYOUT', 'OPEN_CLIP_LAYOUT', 'RS2SAM2_LAYOUT', 'SAM2_LAYOUT',
    'CheckpointReport', 'ComponentReport', 'KeyLayout', 'check_complete',
    'format_checkpoint_report', 'inspect_checkpoints', 'match_checkpoint',
    'match_state_dict', 'merge_state_dicts', 'model_state_for_config',
    'read_checkpoint', 'save_init_checkpoint'
]

"""Config, command-line, checkpoint and report helpers of the tools."""
from .checkpoint_files import (CheckpointError, check_not_source,
                               copy_tokenizer_file, find_tokenizer_file,
                               load_state_dict)
from .checkpoint_io import (check_checkpoint_fits, checkpoint_meta,
                            checkpoint_mismatches, checkpoint_state_dict,
                            load_checkpoint_file)
from .cli import (USER_ERRORS, add_allow_partial, add_cfg_options,
                  add_runner_arguments, check_output_path, free_port,
                  parse_tool_args, run_cli, tool_parser)
from .config import (LAUNCHERS, TEXT_ABLATIONS, changed_recipe, configure_amp,
                     configure_denormals, configure_launcher, configure_resume,
                     configure_test, load_config, set_work_dir,
                     tta_model_config)
from .errors import UserInputError
from .report import format_metric_table, format_table, save_metrics
from .strategy import SHARDED_STRATEGIES, build_runner, configure_strategy
from .weights import (BEIT3_LAYOUT, LAYOUTS, OFFICIAL_LAYOUT, OPEN_CLIP_LAYOUT,
                      RS2SAM2_LAYOUT, SAM2_LAYOUT, CheckpointReport,
                      ComponentReport, KeyLayout, check_complete,
                      format_checkpoint_report, inspect_checkpoints,
                      match_checkpoint, match_state_dict, merge_state_dicts,
                      model_state_for_config, read_checkpoint,
                      save_init_checkpoint)

__all__ = [
    'CheckpointError', 'check_not_source', 'copy_tokenizer_file',
    'find_tokenizer_file', 'load_state_dict', 'check_checkpoint_fits',
    'checkpoint_meta', 'checkpoint_mismatches', 'checkpoint_state_dict',
    'load_checkpoint_file', 'USER_ERRORS', 'add_allow_partial',
    'add_cfg_options', 'add_runner_arguments', 'check_output_path',
    'free_port', 'parse_tool_args', 'run_cli', 'tool_parser', 'LAUNCHERS',
    'TEXT_ABLATIONS',
    'changed_recipe', 'configure_amp', 'configure_denormals',
    'configure_launcher', 'configure_resume', 'configure_test', 'load_config',
    'set_work_dir', 'tta_model_config', 'UserInputError',
    'format_metric_table', 'format_table', 'save_metrics',
    'SHARDED_STRATEGIES', 'build_runner', 'configure_strategy',
    'BEIT3_LAYOUT', 'LAYOUTS', 'OFFICIAL_LAYOUT', 'OPEN_CLIP_LAYOUT',
    'RS2SAM2_LAYOUT', 'SAM2_LAYOUT', 'CheckpointReport', 'ComponentReport',
    'KeyLayout', 'check_complete', 'format_checkpoint_report',
    'inspect_checkpoints', 'match_checkpoint', 'match_state_dict',
    'merge_state_dicts', 'model_state_for_config', 'read_checkpoint',
    'save_init_checkpoint'
]

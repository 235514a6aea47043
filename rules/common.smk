# Helpers shared by the rules: the package's view of the config, and wildcard shapes.
import os
import re

from invrob.workflow import (
    all_targets,
    check_config,
    evaluation_settings,
    figure_evaluations,
    figure_plan,
    robust_dataset_input,
    robust_dataset_params,
    snapshot_epochs,
    train_params,
    warm_start_input,
)

check_config(config)

# an input of every figure rule: editing the plotting helpers reruns the figures, and nothing else
PLOTTING_MODULE = os.path.join(workflow.basedir, "invrob", "plotting.py")


wildcard_constraints:
    dataset=r"[a-z0-9_]+",
    arch=r"[a-z0-9_]+",
    recipe=r"[A-Za-z0-9_.\-]+",
    seed=r"\d+",
    evaluation=r"[a-z0-9\-]+",


def res(rule_name, key):
    """A resource of `rule_name` from the config's `resources:` section (schema defaults apply)."""
    defaults = {"threads": 1, "mem_mb": 4000, "runtime": 60}
    return config.get("resources", {}).get(rule_name, {}).get(key, defaults[key])

# Rule import_model: a model of external_models, checked on its dataset and written as a checkpoint of
# the pipeline (see invrob.external and invrob.jobs).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import import_model_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
# the check's thresholds come from the config, not from params: they decide whether the model is refused, not
# what the checkpoint holds, so changing them imports nothing again
check = sm.config["external_models"][sm.params.record["name"]]
import_model_job(sm.params.record, sm.input.state_dict, str(Path(sm.input.test).parent), sm.output.model, sm.threads,
                 sm.config["device"], sm.log[0], min_accuracy=check["min_accuracy"], check_images=check["check_images"])

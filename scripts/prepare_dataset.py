# Rule prepare_dataset: find/verify/convert one dataset (see invrob.data.splits).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import prepare_dataset_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
# where the raw files are and whether to download them come from the config, not from params: the
# prepared splits are verified copies (checksums), so neither changes what is prepared
prepare_dataset_job(sm.wildcards.dataset, sm.config["data_root"], str(Path(sm.output.train).parent),
                    sm.config["allow_download"], sm.log[0])  # fmt: skip

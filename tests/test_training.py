import json
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import REPO, tiny_hparams
from invrob.data.splits import load_split
from invrob.evaluation.measures import clean_accuracy
from invrob.evaluation.registry import load_model
from invrob.io import CheckpointError, load_checkpoint
from invrob.training.loop import train

quiet = lambda msg: None  # noqa: E731


def weights(path):
    return load_checkpoint(path)["state_dict"]


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_is_deterministic_for_a_seed(prepared_mnist_like, tmp_path):
    hp = tiny_hparams(epochs=1)
    for run in ("a", "b"):
        train(hp, prepared_mnist_like, tmp_path / run / "model.pt", tmp_path / run / "state.pt", seed=3, log=quiet)
    assert same_weights(weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "b" / "model.pt"))
    train(hp, prepared_mnist_like, tmp_path / "c" / "model.pt", tmp_path / "c" / "state.pt", seed=4, log=quiet)
    assert not same_weights(weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "c" / "model.pt"))


def test_training_records_device_and_thread_count(prepared_mnist_like, tmp_path):
    # 1 and 2 CPU threads give gradients that differ in the last bits (float sums in another order),
    # so a retraining is bit-identical only with the thread count the history records
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out = tmp_path / f"t{threads}" / "model.pt"
            train(tiny_hparams(epochs=2), prepared_mnist_like, out, out.with_name("state.pt"), seed=0, log=quiet)
            history = load_checkpoint(out)["history"]
            assert [(h["device"], h["torch_threads"]) for h in history] == [("cpu", threads)] * 2
    finally:
        torch.set_num_threads(before)


def test_training_learns_a_learnable_problem(prepared_mnist_like, tmp_path):
    hp = tiny_hparams(epochs=8, rotation=0, lr=0.05)
    train(hp, prepared_mnist_like, tmp_path / "model.pt", tmp_path / "state.pt", seed=0, log=quiet)
    model, ckpt = load_model(tmp_path / "model.pt", "cpu")
    acc = clean_accuracy(model, load_split(prepared_mnist_like, "mnist", "test"))
    assert acc > 0.5  # chance is 0.1
    assert ckpt["hparams"] == hp and len(ckpt["history"]) == 8
    assert not (tmp_path / "state.pt").exists()


KILL_AFTER_FIRST_EPOCH = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    from invrob.training.loop import train
    torch.set_num_threads(1)
    hp, data, out, state = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    def die(epoch):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)
    train(hp, data, out, state, seed=0, log=lambda m: None, on_epoch_end=die)
    """
)


@pytest.fixture
def one_thread():
    """CPU results are bit-reproducible for a fixed thread count (reduction order depends on it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_killed_training_resumes_to_the_same_weights(prepared_mnist_like, tmp_path, one_thread):
    hp = tiny_hparams(epochs=3)
    killed = tmp_path / "killed"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_FIRST_EPOCH, json.dumps(hp), str(prepared_mnist_like),
         str(killed / "model.pt"), str(killed / "state.pt")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (killed / "model.pt").exists()  # the checkpoint appears only when training ends
    assert torch.load(killed / "state.pt", weights_only=True)["epoch"] == 1

    messages = []
    train(hp, prepared_mnist_like, killed / "model.pt", killed / "state.pt", seed=0, log=messages.append)
    assert any("resuming" in m and "after epoch 1" in m for m in messages)
    train(hp, prepared_mnist_like, tmp_path / "straight" / "model.pt", tmp_path / "straight" / "state.pt", seed=0,
          log=quiet)  # fmt: skip
    assert same_weights(weights(killed / "model.pt"), weights(tmp_path / "straight" / "model.pt"))
    # the learning curves agree too (wall-clock seconds aside)
    curves = [[{k: v for k, v in r.items() if k != "seconds"} for r in load_checkpoint(p)["history"]]
              for p in (killed / "model.pt", tmp_path / "straight" / "model.pt")]  # fmt: skip
    assert curves[0] == curves[1]


def test_state_of_other_hyperparameters_is_not_resumed(prepared_mnist_like, tmp_path):
    train(tiny_hparams(epochs=1), prepared_mnist_like, tmp_path / "x.pt", tmp_path / "keep.pt", seed=0, log=quiet,
          on_epoch_end=lambda e: (tmp_path / "keep.pt").rename(tmp_path / "state.pt"))  # fmt: skip
    messages = []
    train(tiny_hparams(epochs=1, lr=0.01), prepared_mnist_like, tmp_path / "model.pt", tmp_path / "state.pt", seed=0,
          log=messages.append)  # fmt: skip
    assert any("other hyperparameters" in m for m in messages)
    assert not any("resuming" in m for m in messages)


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or not a PyTorch checkpoint.*Delete it and rerun"):
        load_checkpoint(bad)
    torch.save({"weights": torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError, match="no 'state_dict'"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_pgd_training_makes_a_more_robust_model_than_natural_training(prepared_mnist_like, tmp_path):
    from invrob.evaluation.measures import robustness_profile

    test = load_split(prepared_mnist_like, "mnist", "test")
    pgd = {"steps": 5, "step_size": 0.12, "random_start": True}
    accuracy = {}
    for name, adversarial in (("natural", None), ("pgd", {"method": "pgd", "eps": 0.3, **pgd})):
        hp = tiny_hparams(epochs=8, rotation=0, lr=0.1, recipe=name, adversarial=adversarial)
        train(hp, prepared_mnist_like, tmp_path / name / "model.pt", tmp_path / name / "state.pt", seed=0, log=quiet)
        model, _ = load_model(tmp_path / name / "model.pt", "cpu")
        torch.manual_seed(0)
        accuracy[name] = robustness_profile(model, test, [0.0, 0.3], "pgd", pgd)["accuracy"]
    assert accuracy["natural"][0] > 0.5 and accuracy["pgd"][0] > 0.5  # both learn the clean task
    assert accuracy["pgd"][1] > accuracy["natural"][1] + 0.2, accuracy


def test_learning_rate_steps_down_at_the_milestones():
    from invrob.training.loop import make_optimizer, make_scheduler

    hp = tiny_hparams(lr=0.1, lr_milestones=[2, 4], lr_gamma=0.1)
    opt = make_optimizer(hp, [torch.nn.Parameter(torch.zeros(1))])
    sched = make_scheduler(hp, opt)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])

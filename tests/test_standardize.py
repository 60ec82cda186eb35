"""The head's standardisation: running statistics in training too, so a batch's make-up does not
change what the head learns (length-grouped batches follow the label), with BatchNorm's gradient."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from headswap.model.classifier import Standardize, linear_head

from .conftest import compose_cfg


def one_class_batches(seed: int, steps: int) -> list[tuple[Tensor, Tensor]]:
    """Separable features (a large shared offset, the class in feature 0), every batch one class."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for step in range(steps):
        label = step % 2
        x = 50.0 + torch.randn(16, 8, generator=g)
        x[:, 0] += 5.0 * label
        batches.append((x, torch.full((16,), label)))
    return batches


def accuracy_after_training(norm: nn.Module) -> float:
    torch.manual_seed(0)
    head = nn.Sequential(norm, nn.Linear(8, 2))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    head.train()
    for x, y in one_class_batches(0, 200):
        loss = nn.functional.cross_entropy(head(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    head.eval()
    mixed = one_class_batches(1, 20)
    x, y = torch.cat([b[0] for b in mixed]), torch.cat([b[1] for b in mixed])
    with torch.no_grad():
        return (head(x).argmax(1) == y).float().mean().item()


def test_a_head_learns_from_one_class_batches_with_running_statistics() -> None:
    assert accuracy_after_training(Standardize(8)) > 0.95


def test_per_batch_batchnorm_does_not_which_is_why_the_head_does_not_use_it() -> None:
    # Each batch standardised by its own statistics erases the class offset the head must learn.
    assert accuracy_after_training(nn.BatchNorm1d(8, affine=False)) < 0.75


def test_the_first_batch_sets_the_statistics_and_later_ones_move_them_by_momentum() -> None:
    norm = Standardize(3, momentum=0.1).train()
    first, second = torch.randn(10, 3) * 4 + 7, torch.randn(10, 3) * 2 - 1
    norm(first)
    assert torch.allclose(norm.running_mean, first.mean(0))
    assert torch.allclose(norm.running_var, first.var(0))
    norm(second)
    assert torch.allclose(norm.running_mean, 0.9 * first.mean(0) + 0.1 * second.mean(0), atol=1e-6)
    assert int(norm.num_batches_tracked) == 2


def test_training_output_is_the_running_map_in_value_and_batchnorms_in_gradient() -> None:
    norm = Standardize(4).train()
    norm(torch.randn(8, 4) * 3 + 2)  # sets the statistics
    x = torch.randn(8, 4, requires_grad=True)
    out = norm(x)  # updates them with x, then standardises x by them
    std = torch.sqrt(norm.running_var + norm.eps)
    torch.testing.assert_close(out, (x - norm.running_mean) / std)
    weights = torch.randn(8, 4)
    (out * weights).sum().backward()
    reference = x.detach().clone().requires_grad_(True)
    (nn.BatchNorm1d(4, affine=False).train()(reference) * weights).sum().backward()
    batch_std = torch.sqrt(x.detach().var(0, unbiased=False) + norm.eps)
    torch.testing.assert_close(x.grad, reference.grad * batch_std / std)  # BatchNorm's, rescaled


def test_shifting_every_example_the_same_way_has_no_gradient() -> None:
    """What lets a body train under the head: it cannot lower a one-class batch's loss by a common shift."""
    norm = Standardize(4).train()
    x = torch.randn(8, 4, requires_grad=True)
    norm(x).sum().backward()
    torch.testing.assert_close(x.grad.sum(0), torch.zeros(4), atol=1e-5, rtol=0)


def test_inference_leaves_the_statistics_alone_and_one_example_batches_do_not_move_them() -> None:
    norm = Standardize(4).train()
    norm(torch.randn(8, 4))
    mean = norm.running_mean.clone()
    norm(torch.randn(1, 4))  # one example has no variance: standardised, statistics unchanged
    norm.eval()(torch.randn(8, 4) + 100)
    assert torch.equal(norm.running_mean, mean)


def test_a_checkpoint_written_with_batchnorm_loads_strictly_into_the_head() -> None:
    old = nn.Sequential(nn.BatchNorm1d(6, affine=False), nn.Linear(6, 3))
    old[0].running_mean.fill_(2.0)
    head = linear_head(6, num_classes=3)
    head.load_state_dict(old.state_dict())
    assert torch.equal(head[0].running_mean, torch.full((6,), 2.0))


def test_a_second_training_forward_before_backward_leaves_the_first_graph_intact() -> None:
    """The statistics a batch used are its own copies: the next update cannot invalidate its graph."""
    norm = Standardize(4).train()
    x = torch.randn(8, 4, requires_grad=True)
    first = norm(x)
    norm(torch.randn(8, 4) * 5)  # moves the running statistics in place
    first.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_bf16_statistics_train_as_float_ones_do() -> None:
    norm = Standardize(4).to(torch.bfloat16).train()
    x = torch.randn(8, 4, dtype=torch.bfloat16) * 3 + 5
    out = norm(x)
    assert out.dtype == torch.bfloat16 and norm.running_mean.dtype == torch.bfloat16
    torch.testing.assert_close(norm.running_mean.float(), x.float().mean(0), atol=0.05, rtol=0.01)


def test_no_trainer_config_syncs_batchnorm_which_would_replace_the_head_standardize(tmp_path: Path) -> None:
    # Lightning's sync_batchnorm converts every BatchNorm subclass to SyncBatchNorm: per-batch statistics
    assert isinstance(nn.SyncBatchNorm.convert_sync_batchnorm(linear_head(4))[0], nn.SyncBatchNorm)
    for trainer in ("default", "gpu", "ddp", "ddp_cpu"):
        assert not compose_cfg(tmp_path, [f"trainer={trainer}"]).trainer.get("sync_batchnorm"), trainer

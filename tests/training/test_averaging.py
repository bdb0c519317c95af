"""The weight average: copies first, then lerps floats with the warm-up decay, copies counters."""

import torch
from torch import nn

from lstmkit.training.averaging import WeightAverage, ema_decay_at


def test_average_copies_then_lerps_and_copies_integer_buffers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    average = WeightAverage(model, decay=0.9)
    first = [t.clone() for t in model.state_dict().values()]
    average.update()
    for got, want in zip(average.module.state_dict().values(), first, strict=True):
        assert torch.equal(got, want)
    model(torch.randn(8, 3))  # moves the BatchNorm statistics and its batch counter
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update()
    weight = 1 - ema_decay_at(0.9, 1)
    torch.testing.assert_close(average.module[0].weight,
                               first[0] + weight * (model[0].weight - first[0]))
    assert average.module[1].num_batches_tracked.item() == 1  # counters are copied, not averaged
    assert average.updates == 2
    assert average.module[0].weight.data_ptr() != model[0].weight.data_ptr()


def test_average_follows_parameters_whose_data_is_replaced() -> None:
    model = nn.Linear(2, 2)
    average = WeightAverage(model, decay=0.5)
    model.weight.data = torch.ones(2, 2)  # as Module.to does when it converts
    average.update()
    assert torch.equal(average.module.weight, torch.ones(2, 2))

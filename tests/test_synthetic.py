import numpy as np
import pytest

from lstmkit.data.synthetic import adding_problem
from lstmkit.errors import ConfigError


def test_adding_problem_marks_two_steps_and_sums_their_values():
    x, y = adding_problem(500, 9, seed=2)
    assert x.shape == (500, 9, 2) and y.shape == (500,)
    assert np.all(x[:, :, 1].sum(axis=1) == 2)
    assert np.allclose(y, (x[:, :, 0] * x[:, :, 1]).sum(axis=1))
    assert np.array_equal(adding_problem(500, 9, seed=2)[0], x)


def test_adding_problem_rejects_a_length_below_two():
    with pytest.raises(ConfigError, match="length >= 2"):
        adding_problem(5, 1)

"""Federated training of LSTM forecasters on Flower: FedAvg/FedProx/SCAFFOLD, optional client-level
differential privacy, in Flower's simulation or as real SuperLink/SuperNode processes.

Needs the `federated` extra (`pip install 'lstmkit[federated]'`) to train; a trained
`FederatedForecaster` loads and forecasts without it.
"""

from lstmkit.federated.forecaster import FederatedForecaster
from lstmkit.federated.privacy import LocalDP
from lstmkit.federated.settings import FederationSettings

__all__ = ["FederatedForecaster", "FederationSettings", "LocalDP"]

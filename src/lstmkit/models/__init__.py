"""Task estimators in scikit-learn style (fit / predict / save / load)."""

from lstmkit.models.anomaly import AnomalyDetector
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.models.sequence_classifier import SequenceClassifier
from lstmkit.models.sequence_regressor import SequenceRegressor

__all__ = ["AnomalyDetector", "LSTMForecaster", "SequenceClassifier", "SequenceRegressor"]

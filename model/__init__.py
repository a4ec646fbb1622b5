"""ulde.model: the torch side of ulde (data pipeline, networks, training, evaluation)."""

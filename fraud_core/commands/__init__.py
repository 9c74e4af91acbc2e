"""One module per `fraudops` command or command group (registered in `fraud_core.cli`)."""

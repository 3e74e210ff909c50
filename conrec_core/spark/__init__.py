"""Apache Spark for the data-parallel stages (samples, Swing): `--engine spark`."""

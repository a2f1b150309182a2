"""The SIEM retention function: applies guard's ISM policy to the OpenSearch domain on deploy."""

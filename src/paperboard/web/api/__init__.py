"""The JSON API, one module per resource, with Hugging Face's paths, parameters and field names, so that code
written for huggingface.co/api (`huggingface_hub.HfApi(endpoint=...)` among it) works against Paperboard."""

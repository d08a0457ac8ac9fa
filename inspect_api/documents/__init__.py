"""Official documents (公文, GB/T 9704-2012): pure formatting and numbering, charts, and the HTML/PDF renderer."""

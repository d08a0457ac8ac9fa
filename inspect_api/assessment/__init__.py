"""Annual assessment (年度考评, seed 000 六): the survey of service recipients and the grades."""

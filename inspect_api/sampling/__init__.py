"""Random-sampling plans (双随机), the draw, release of assignments."""

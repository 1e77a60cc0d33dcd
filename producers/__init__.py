"""Camera side: the scene simulator and replayers that publish FrameDetections."""

__all__: list[str] = []

"""`python app.py`: the Gradio chat front end (thin: the UI lives in assistant/ui.py).

Binds settings.host:settings.port (127.0.0.1:7860 unless SVT_HOST / SVT_PORT say otherwise),
with basic auth when SVT_AUTH_USER and SVT_AUTH_PASSWORD are both set.
"""

from assistant.config import get_settings
from assistant.ui import build_app, launch_options


def main() -> None:
    settings = get_settings()
    build_app(settings).launch(**launch_options(settings))


if __name__ == "__main__":
    main()

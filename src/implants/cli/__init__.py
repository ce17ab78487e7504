"""The ``implants`` command line (layer: cli; typer + rich): the app and its verbs, in the order
``implants --help`` lists them. One module per group of verbs; no domain logic here.

Exit codes: 0 success, 2 usage error, 3 invalid parameters or input file, 4 build failed in
the CAD kernel, 5 checks failed, 6 export failed. User errors print one line to stderr and
never a traceback. The CAD kernel is imported only by verbs that build or read B-rep.
"""

from __future__ import annotations

import typer

from ..errors import EXIT_CODES
from ..params import NOT_A_MEDICAL_DEVICE
from ..version import __version__
from . import anatomy, build, catalogue, check, demonstrator, patients, pictures, serve, sweeps
from .output import console, user_errors

app = typer.Typer(
    name="implants",
    help=("Parametric patient-specific spinal implants: build, export (STEP, STL, 3MF, GLB) and check.\n\n"
          f"{NOT_A_MEDICAL_DEVICE}\n\nExit codes: "
          + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "-1:+1:1" must not become an emoji
)


def _version(value: bool) -> None:
    if value:
        console.print(f"spine-implants {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit.")) -> None:
    """Parametric patient-specific spinal implants. Not a medical device."""


for _name, _verb in (("list", catalogue.list_types), ("show", catalogue.show), ("build", build.build),
                     ("check", check.check), ("demo", build.demo), ("render", pictures.render),
                     ("gallery", pictures.gallery), ("sweep", sweeps.sweep), ("sweep-plot", sweeps.sweep_plot),
                     ("kit", sweeps.kit), ("demonstrator", demonstrator.demonstrator),
                     ("contact-compare", anatomy.contact_compare), ("serve", serve.serve)):
    app.command(_name)(user_errors(_verb))

anatomy_app = typer.Typer(help="Real vertebra meshes shipped with the package: list them, export them as STL.",
                          no_args_is_help=True, rich_markup_mode=None)
anatomy_app.command("list")(user_errors(anatomy.anatomy_list))
anatomy_app.command("export")(user_errors(anatomy.anatomy_export))
anatomy_app.command("spine")(user_errors(anatomy.anatomy_spine))
anatomy_app.command("patient")(user_errors(patients.anatomy_patient))
app.add_typer(anatomy_app, name="anatomy")

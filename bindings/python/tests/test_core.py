"""Library loading, version, errors, config and the option table."""
import ctypes
import gc
import os
import subprocess
import sys
import unittest

import aisle
from aisle import _lib

from .helpers import TOP


class TestLibrary(unittest.TestCase):
    def test_version_matches_the_loaded_library(self):
        self.assertEqual(aisle.version(), "%d.%d.%d" % (aisle.version_number() // 10000,
                                                        aisle.version_number() // 100 % 100,
                                                        aisle.version_number() % 100))

    def test_library_comes_from_aisle_library_env(self):
        self.assertEqual(aisle.library_path, os.environ["AISLE_LIBRARY"])

    def test_bad_aisle_library_path_fails_import_with_the_path_in_the_message(self):
        env = dict(os.environ, AISLE_LIBRARY="/nonexistent/libaisle.so.1",
                   PYTHONPATH=os.path.dirname(os.path.dirname(aisle.__file__)))
        r = subprocess.run([sys.executable, "-c", "import aisle"], env=env, capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("/nonexistent/libaisle.so.1", r.stderr)

    def test_library_next_to_the_package_is_found_without_env(self):
        import shutil
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            pkg = os.path.join(d, "aisle")
            shutil.copytree(os.path.dirname(aisle.__file__), pkg,
                            ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(os.environ["AISLE_LIBRARY"], os.path.join(pkg, "libaisle.so.1"))
            env = {k: v for k, v in os.environ.items() if k not in ("AISLE_LIBRARY", "LD_LIBRARY_PATH")}
            env["PYTHONPATH"] = d
            r = subprocess.run([sys.executable, "-c", "import aisle; print(aisle.library_path)"],
                               env=env, capture_output=True, text=True, cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(pkg, "libaisle.so.1"))

    def test_every_prototype_is_exported_by_the_built_library(self):
        missing = [n for n in _lib._PROTOTYPES if not _lib.has(n[len("aisle_"):])]
        self.assertEqual(missing, [])

    def test_every_wrapped_function_is_declared_in_the_public_header(self):
        header = os.path.join(TOP, "include", "aisle.h")
        if not os.path.exists(header):
            self.skipTest("not in the source tree")
        with open(header, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("*", " ")
        missing = [name for name in _lib._PROTOTYPES if " %s(" % name not in text]
        self.assertEqual(missing, [], "wrapped but not in include/aisle.h")


class TestErrors(unittest.TestCase):
    def test_error_classes_carry_code_message_and_builtin_bases(self):
        with self.assertRaises(aisle.NotFound) as cm:
            aisle.Config(no_such_option=1)
        e = cm.exception
        self.assertEqual(e.code, -5)
        self.assertIn("no_such_option", e.message)
        self.assertIn("no_such_option", str(e))
        self.assertIsInstance(e, LookupError)
        self.assertIsInstance(e, aisle.AisleError)

    def test_invalid_value_is_invalid_argument_and_value_error(self):
        with self.assertRaises(ValueError) as cm:
            aisle.Config(threads="many")
        self.assertIsInstance(cm.exception, aisle.InvalidArgument)
        self.assertIn("threads", str(cm.exception))

    def test_out_of_range_value_names_the_option(self):
        with self.assertRaises(aisle.OutOfRange) as cm:
            aisle.Config(threads=100000)
        self.assertEqual(cm.exception.code, -6)
        self.assertIn("threads", cm.exception.message)

    def test_strerror_and_unknown_codes(self):
        self.assertEqual(aisle.strerror(-2), "out of memory")
        e = aisle.errors.error_for(-99, "x")
        self.assertIs(type(e), aisle.AisleError)
        self.assertEqual(e.code, -99)

    def test_every_code_maps_to_its_own_class(self):
        classes = {aisle.errors.error_for(c, "").__class__ for c in range(-1, -12, -1)}
        self.assertEqual(len(classes), 11)

    def test_io_error_is_an_oserror(self):
        e = aisle.errors.error_for(-3, "f.csv: No such file")
        self.assertIsInstance(e, OSError)
        self.assertIs(aisle.IOError, aisle.AisleIOError)
        self.assertIn("f.csv", str(e))

    def test_errors_pickle(self):
        import pickle
        e = pickle.loads(pickle.dumps(aisle.errors.error_for(-4, "bad line 3")))
        self.assertIsInstance(e, aisle.FormatError)
        self.assertEqual((e.code, e.message), (-4, "bad line 3"))


class TestConfig(unittest.TestCase):
    def test_keyword_options_are_typed_on_read(self):
        with aisle.Config(threads=2, seed=7, model="popular") as cfg:
            self.assertEqual(cfg["threads"], 2)
            self.assertEqual(cfg.get("seed"), 7)
            self.assertEqual(cfg["model"], "popular")
            self.assertTrue(cfg.is_set("seed"))
            self.assertIn("seed", cfg)

    def test_unset_option_reads_its_default(self):
        defaults = {o.name: o.default for o in aisle.options()}
        with aisle.Config() as cfg:
            self.assertEqual(str(cfg["seed"]), defaults["seed"])
            self.assertNotIn("seed", cfg)

    def test_parse_text_and_to_string_round_trip(self):
        with aisle.Config("model=popular threads=3") as cfg:
            text = cfg.to_string()
            self.assertIn("threads=3", text)
            with aisle.Config(text) as again:
                self.assertEqual(again["threads"], 3)
                self.assertEqual(again.to_string(), text)

    def test_parse_is_all_or_nothing(self):
        with aisle.Config(threads=1) as cfg:
            with self.assertRaises(aisle.AisleError):
                cfg.parse("threads=4 bogus=1")
            self.assertEqual(cfg["threads"], 1)

    def test_unset_restores_the_default(self):
        with aisle.Config(seed=9) as cfg:
            del cfg["seed"]
            self.assertFalse(cfg.is_set("seed"))

    def test_copy_is_independent(self):
        with aisle.Config(seed=3) as a, a.copy() as b:
            b["seed"] = 4
            self.assertEqual(a["seed"], 3)
            self.assertEqual(b["seed"], 4)

    def test_bools_pass_as_true_false(self):
        bools = [o.name for o in aisle.options() if o.type == "bool"]
        if not bools:
            self.skipTest("no bool option in this library")
        with aisle.Config() as cfg:
            cfg[bools[0]] = False
            self.assertIs(cfg[bools[0]], False)
            self.assertIn("%s=false" % bools[0], cfg.to_string())
            cfg[bools[0]] = True
            self.assertIs(cfg[bools[0]], True)

    def test_closed_config_raises_state_error_and_close_is_idempotent(self):
        cfg = aisle.Config()
        cfg.close()
        cfg.close()
        self.assertTrue(cfg.closed)
        with self.assertRaises(aisle.StateError):
            cfg["seed"] = 1

    def test_option_table_lists_names_types_and_help(self):
        opts = aisle.options()
        names = {o.name for o in opts}
        self.assertTrue({"threads", "seed", "model"} <= names)
        for o in opts:
            self.assertIn(o.type, ("int", "float", "string", "bool"))
            self.assertTrue(o.help)

    def test_garbage_collected_handles_are_freed(self):
        # Many unreferenced configs: __del__ frees each; nothing raises.
        for _ in range(200):
            aisle.Config(seed=1)
        gc.collect()


class TestPackaging(unittest.TestCase):
    def test_pip_install_works_offline(self):
        import importlib.util
        import importlib.metadata
        if not (importlib.util.find_spec("pip") and importlib.util.find_spec("setuptools")):
            self.skipTest("pip or setuptools not installed")
        st = tuple(int(x) for x in importlib.metadata.version("setuptools").split(".")[:2] if x.isdigit())
        if st < (70, 1) and not importlib.util.find_spec("wheel"):
            # older setuptools builds wheels through the separate `wheel` package
            self.skipTest("setuptools %s without the wheel package cannot build offline" % (st,))
        import shutil
        import tempfile
        src = os.path.dirname(os.path.dirname(aisle.__file__))
        with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as copy:
            # build from a copy: setuptools writes build/ and *.egg-info next
            # to the sources, which must stay clean
            pkg = os.path.join(copy, "python")
            shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
            r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                                "--no-index", "--quiet", "--target", d, pkg],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(os.path.join(d, "aisle", "__init__.py")))
            env = dict(os.environ, PYTHONPATH=d)
            r = subprocess.run([sys.executable, "-c", "import aisle; print(aisle.__file__)"],
                               env=env, capture_output=True, text=True, cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(d))


if __name__ == "__main__":
    unittest.main()

